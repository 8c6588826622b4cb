// The `records` path of the XML source: which elements are records. `catalog/book` (or `/catalog/book`) names them
// from the root; `//item` or `//channel/item` matches them at any depth. A segment is a name, `*`, or `prefix:name`
// where the prefix is declared in the stream's `namespaces` (matched by namespace URI, not by the document's prefix).

export interface PathSegment {
  /** Local name, or `*`. */
  local: string;
  /** Namespace URI to match; undefined matches any namespace. */
  uri?: string;
}

export interface RecordPath {
  anywhere: boolean;
  segments: PathSegment[];
  text: string;
}

export interface ElementName {
  local: string;
  uri: string;
}

const SEGMENT = /^(?:\*|(?:([^\s/:*]+):)?([^\s/:*]+))$/;

/** Problems with a path (for the spec's validation); empty when it is fine. */
export function pathProblems(text: string, namespaces: Record<string, string>): string[] {
  const body = text.replace(/^\/\/?/, '');
  if (body.length === 0) return ['an element path such as `catalog/book` or `//item`'];
  const problems: string[] = [];
  for (const seg of body.split('/')) {
    const m = SEGMENT.exec(seg);
    if (!m) problems.push(`"${seg}" is not an element name, \`*\` or \`prefix:name\``);
    else if (m[1] !== undefined && namespaces[m[1]] === undefined) problems.push(`prefix "${m[1]}" is not declared in \`namespaces\``);
  }
  return problems;
}

export function compilePath(text: string, namespaces: Record<string, string>): RecordPath {
  const anywhere = text.startsWith('//');
  const segments = text.replace(/^\/\/?/, '').split('/').map((seg): PathSegment => {
    const m = SEGMENT.exec(seg);
    if (!m || seg === '*') return { local: '*' };
    return m[1] !== undefined ? { local: m[2], uri: namespaces[m[1]] } : { local: m[2] };
  });
  return { anywhere, segments, text };
}

const matches = (seg: PathSegment, el: ElementName): boolean =>
  seg.local === '*' || (seg.local === el.local && (seg.uri === undefined || seg.uri === el.uri));

/** True when the element on top of `stack` (root first) is a record. */
export function isRecord(path: RecordPath, stack: readonly ElementName[]): boolean {
  const n = path.segments.length;
  if (path.anywhere ? stack.length < n : stack.length !== n) return false;
  const from = stack.length - n;
  for (let k = 0; k < n; k++) if (!matches(path.segments[k], stack[from + k])) return false;
  return true;
}

/** For an absolute path, a reason when the root element can never lead to a record (a wrong path, not an empty file). */
export function rootMismatch(path: RecordPath, root: ElementName): string | undefined {
  if (path.anywhere || matches(path.segments[0], root)) return undefined;
  return `records path "${path.text}" starts at <${path.segments[0].local}>, but the root element is <${root.local}>`;
}
