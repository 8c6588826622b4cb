// Key paths (`sources[0].streams[1].write`) and where they sit in the YAML text, so every config error can
// name a line and column even though validation runs on plain JS values.
import { isAlias, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';

export type KeyPath = readonly (string | number)[];

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `sources[0].streams[1].write`; keys that are not identifiers are quoted: `columns["Release Date"]`. */
export function formatPath(path: KeyPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENTIFIER.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** A stable string for a path, used as a map key. */
export const pathKey = (path: KeyPath): string => JSON.stringify(path);

const scalarKey = (key: unknown): unknown => (isScalar(key) ? key.value : key);

/**
 * The YAML node at `path`: the value node, or the key node when `atKey` (unknown-key errors point at the key).
 * When the path leaves the document (a missing required key), the deepest existing node is returned, so the
 * error points at the mapping that lacks the key.
 */
export function nodeAt(doc: Document, path: KeyPath, atKey = false): Node | undefined {
  let node: unknown = doc.contents;
  let found: Node | undefined = doc.contents ?? undefined;
  for (let i = 0; i < path.length; i++) {
    if (isAlias(node)) node = node.resolve(doc);
    const seg = path[i];
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => String(scalarKey(p.key)) === String(seg));
      if (!pair) return found;
      if (last && atKey && pair.key && typeof pair.key === 'object') return pair.key as Node;
      // `key:` with nothing after it has no value node; the key is the best place to point at.
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      return found;
    }
    if (!node || typeof node !== 'object') return found;
    found = node as Node;
  }
  return found;
}

/** 1-based line and column of the node at `path`, when the document has one. */
export function positionOf(
  doc: Document, lineCounter: LineCounter, path: KeyPath, atKey = false,
): { line: number; column: number } | undefined {
  const node = nodeAt(doc, path, atKey);
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
