// `sluice lint`'s rules: the conventions of the requirement documents (names) and settings that load without an
// error but put data or secrets at risk. The rules are pure: a parsed YAML document in, findings with positions out;
// they read the file as written (before `${VAR}` interpolation, which is how an inline secret shows) and never
// connect to anything. `lintPipelineText` adds what `validate` rejects, so one call says all that is wrong.
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { SECRET_KEY, urlPasswords } from '../core/redact.js';
import type { Env } from './interpolate.js';
import { parsePipeline, PipelineConfigError, type ParseOptions } from './load.js';
import { taggedPii, typeOf } from './declared-columns.js';
import { formatPath, positionOf, type KeyPath } from './locate.js';
import { nearest } from './nearest.js';
import { looksPersonal } from './personal-names.js';
import { PIPELINE_NAME } from './pipeline-spec.js';
import { STREAM_NAME } from './stream-keys.js';
import { isMapping } from './validate-stream-lists.js';

export type LintSeverity = 'warning' | 'error';

export interface LintFinding {
  /** Stable kebab-case id of the rule (`invalid-pipeline` for what validation rejects). */
  rule: string;
  severity: LintSeverity;
  file?: string;
  line?: number;
  column?: number;
  /** Key path, as validation errors name it: `sources[0].streams[1].write`. */
  path: string;
  /** What was found and what is expected; never a secret's value. */
  message: string;
}

/** One finding of a rule before it gets its rule, severity and position; `atKey` points at the key, not its value. */
interface Hit {
  path: KeyPath;
  atKey?: boolean;
  message: string;
}

interface Stream {
  path: KeyPath;
  name: string | undefined;
  raw: Record<string, unknown>;
}

/** The file as written: the raw tree (no interpolation, no defaults) and its streams, however invalid the rest is. */
interface Parsed {
  root: Record<string, unknown>;
  streams: Stream[];
  /** `transforms:` / `checks:` entries of a stream, [] when there are none. */
  entries(section: 'transforms' | 'checks', stream: string | undefined): { path: KeyPath; entry: Record<string, unknown> }[];
}

interface Rule {
  id: string;
  severity: LintSeverity;
  find: (p: Parsed) => Hit[];
  /** Validation's message for the same problem: the rule's finding replaces that error at the same key path. */
  restates?: RegExp;
}

const RULES: readonly Rule[] = [
  // Runs, state, locks and metric labels are keyed by the pipeline name: one spelling everywhere (validate refuses others).
  { id: 'pipeline-name-kebab-case', severity: 'error', find: pipelineName, restates: /kebab-case pipeline name/ },
  // The stream name keys transforms, checks and state, and is the default table name (validate refuses others).
  { id: 'stream-name-snake-case', severity: 'error', find: streamNames, restates: /snake_case stream name/ },
  // Other table names must be quoted in every query, and case-folding destinations (DuckDB, MySQL) rename clashes.
  { id: 'table-name-snake-case', severity: 'warning', find: tableNames },
  // The same for columns: `OrderId` becomes "OrderId", to be quoted in every query of every consumer, forever.
  { id: 'column-name-snake-case', severity: 'warning', find: columnNames },
  // merge upserts on the primary key and scd2 keeps history per key: without one there is nothing to match rows on.
  { id: 'merge-without-primary-key', severity: 'error', find: mergeWithoutKey, restates: /requires `primary_key`/ },
  // A merge overwrites rows already loaded: without any check a bad export replaces good rows and nothing says so.
  { id: 'merge-without-checks', severity: 'warning', find: mergeWithoutChecks },
  // Pipeline files are committed and shared: a secret in one leaks with it. `${VAR}` keeps it in the environment.
  { id: 'inline-secret', severity: 'error', find: inlineSecrets },
  // A row with a null cursor has no place in the watermark order: SQL sources never read it (sql/keyset.ts), and
  // the row gate never filters it as already loaded (engine/row-gate.ts): it is lost, or loaded again every run.
  { id: 'nullable-cursor', severity: 'warning', find: nullableCursor },
  // A personal value in a column nobody tagged is logged, alerted and dead-lettered in clear: the tag is what turns
  // masking and encryption on (core/pii.ts), and forgetting it is silent. A warning, because names only suggest.
  { id: 'pii-untagged', severity: 'warning', find: piiUntagged },
  // A misspelt `pii` entry tags nothing, silently. Not a validation error: `columns:` need not list every column
  // (the rest are inferred from the data), so a `pii` column it does not declare may well be right.
  { id: 'pii-undeclared-column', severity: 'warning', find: piiUndeclared },
  // A lake partition is a directory, and every checkpoint writes a file into each one it touches: partitioning by a
  // key or an instant makes a directory (and a file) per row, which readers list and open one by one.
  { id: 'partition-by-fine-column', severity: 'warning', find: finePartitions },
];

/** The rules' ids and severities, for docs and tests. */
export const LINT_RULES: readonly { id: string; severity: LintSeverity }[] = RULES.map(({ id, severity }) => ({ id, severity }));

/** What validation rejects, reported with its own message. */
export const INVALID_RULE = 'invalid-pipeline';

const SNAKE_CASE = STREAM_NAME;

/** `OrderId`, `Release Date` → `order_id`, `release_date`: the name the message suggests. */
const words = (s: string): string[] =>
  s.replace(/([a-z0-9])([A-Z])/g, '$1 $2').split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w.toLowerCase());
const snake = (s: string): string => {
  const out = words(s).join('_') || 'name';
  return /^[0-9]/.test(out) ? `_${out}` : out;
};
const kebab = (s: string): string => words(s).join('-') || 'name';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function pipelineName(p: Parsed): Hit[] {
  const name = str(p.root.pipeline);
  if (name === undefined || PIPELINE_NAME.test(name)) return [];
  return [{ path: ['pipeline'], message: `pipeline name \`${name}\` is not kebab-case: expected lowercase letters and digits joined by \`-\`, such as \`${kebab(name)}\`` }];
}

function streamNames(p: Parsed): Hit[] {
  return p.streams.flatMap((s) => (s.name === undefined || STREAM_NAME.test(s.name) ? [] : [{
    path: [...s.path, 'name'],
    message: `stream name \`${s.name}\` is not snake_case: expected lowercase letters, digits and \`_\`, such as \`${snake(s.name)}\``,
  }]));
}

function tableNames(p: Parsed): Hit[] {
  return p.streams.flatMap((s) => {
    const table = str(s.raw.destination_table);
    // `schema.table`: each part is a name.
    if (table === undefined || table.split('.').every((part) => SNAKE_CASE.test(part))) return [];
    return [{
      path: [...s.path, 'destination_table'],
      message: `destination table \`${table}\` is not snake_case: expected lowercase letters, digits and \`_\`, such as \`${table.split('.').map(snake).join('.')}\``,
    }];
  });
}

interface Named {
  stream: Stream;
  path: KeyPath;
  atKey?: boolean;
  name: string;
  what: string;
  /** A rename target's source column: tagging either one tags the data. */
  from?: string;
}

/** Column names the file declares: `columns:` keys, keys and cursors, and what rename, derive and map create. */
function namedColumns(p: Parsed): Named[] {
  const named: Named[] = [];
  for (const s of p.streams) {
    const push = (n: Omit<Named, 'stream'>) => named.push({ stream: s, ...n });
    if (isMapping(s.raw.columns)) {
      for (const name of Object.keys(s.raw.columns)) push({ path: [...s.path, 'columns', name], atKey: true, name, what: 'declared column' });
    }
    const key = s.raw.primary_key;
    if (typeof key === 'string') push({ path: [...s.path, 'primary_key'], name: key, what: 'primary key column' });
    list(key).forEach((k, i) => {
      if (typeof k === 'string') push({ path: [...s.path, 'primary_key', i], name: k, what: 'primary key column' });
    });
    for (const k of ['cursor', 'delete_column'] as const) {
      const name = str(s.raw[k]);
      if (name !== undefined) push({ path: [...s.path, k], name, what: k === 'cursor' ? 'cursor column' : 'delete column' });
    }
    for (const { path, entry } of p.entries('transforms', s.name)) {
      if (isMapping(entry.rename)) {
        for (const [from, to] of Object.entries(entry.rename)) {
          if (typeof to === 'string') push({ path: [...path, 'rename', from], name: to, what: 'rename target', from });
        }
      }
      for (const kind of ['derive', 'map'] as const) {
        const mapping = entry[kind];
        if (!isMapping(mapping)) continue;
        for (const name of Object.keys(mapping)) push({ path: [...path, kind, name], atKey: true, name, what: `\`${kind}\` column` });
      }
    }
  }
  return named;
}

function columnNames(p: Parsed): Hit[] {
  return namedColumns(p).filter((n) => !SNAKE_CASE.test(n.name)).map((n) => ({
    path: n.path,
    ...(n.atKey ? { atKey: true } : {}),
    message: `${n.what} \`${n.name}\` is not snake_case: expected lowercase letters, digits and \`_\`, such as \`${snake(n.name)}\``,
  }));
}

/** The columns a stream tags: its `pii` list and its declared columns with `pii: true`. */
function tagged(s: Stream): Set<string> {
  const listed = typeof s.raw.pii === 'string' ? [s.raw.pii] : list(s.raw.pii).filter((c): c is string => typeof c === 'string');
  const declared = isMapping(s.raw.columns) ? Object.entries(s.raw.columns).filter(([, d]) => taggedPii(d)).map(([c]) => c) : [];
  return new Set([...listed, ...declared]);
}

function piiUntagged(p: Parsed): Hit[] {
  const reported = new Set<string>();
  return namedColumns(p).flatMap((n) => {
    const tags = tagged(n.stream);
    if (!looksPersonal(n.name) || tags.has(n.name) || (n.from !== undefined && tags.has(n.from))) return [];
    // A column named several times (key, cursor, declared) is one finding, where it is first named.
    const id = `${n.stream.name ?? ''}\0${n.name}`;
    if (reported.has(id)) return [];
    reported.add(id);
    // `pii` names columns as the source has them: a rename's source, not its target.
    const column = n.from ?? n.name;
    const declared = isMapping(n.stream.raw.columns) ? typeOf(n.stream.raw.columns[n.name]) : undefined;
    const fix = `\`pii: [${column}]\` on the stream${declared !== undefined && n.from === undefined ? ` (or \`${n.name}: { type: ${declared}, pii: true }\`)` : ''}`;
    return [{
      path: n.path,
      ...(n.atKey ? { atKey: true } : {}),
      message: `${n.what} \`${n.name}\` of stream \`${n.stream.name ?? '?'}\` looks like personal data but is not tagged: its values would be kept in clear in logs, alerts and the dead-letter queue; expected ${fix}`,
    }];
  });
}

function piiUndeclared(p: Parsed): Hit[] {
  const named = namedColumns(p);
  return p.streams.flatMap((s) => {
    if (!isMapping(s.raw.columns) || Object.keys(s.raw.columns).length === 0) return [];
    const known = new Set(named.filter((n) => n.stream === s).flatMap((n) => (n.from !== undefined ? [n.name, n.from] : [n.name])));
    const entries: { path: KeyPath; name: string }[] = typeof s.raw.pii === 'string' ? [{ path: [...s.path, 'pii'], name: s.raw.pii }]
      : list(s.raw.pii).flatMap((c, i) => (typeof c === 'string' ? [{ path: [...s.path, 'pii', i], name: c }] : []));
    return entries.filter((e) => !known.has(e.name)).map((e) => {
      const near = nearest(e.name, known);
      return {
        path: e.path,
        message: `pii column \`${e.name}\` of stream \`${s.name ?? '?'}\` is not among its declared columns, key, cursor or renamed and derived columns: ${near !== undefined ? `did you mean \`${near}\`? ` : ''}a misspelt tag masks nothing; expected a column of the stream (if the source has it, declare it: \`${e.name}: { type: text, pii: true }\`)`,
      };
    });
  });
}

const writeOf = (s: Stream): string | undefined => str(s.raw.write);

function mergeWithoutKey(p: Parsed): Hit[] {
  return p.streams.flatMap((s) => {
    const write = writeOf(s);
    if (write !== 'merge' && write !== 'scd2') return [];
    const key = s.raw.primary_key;
    if ((typeof key === 'string' && key !== '') || list(key).length > 0) return [];
    return [{
      path: [...s.path, 'write'],
      message: `\`write: ${write}\` without \`primary_key\`: ${write === 'merge' ? 'merge upserts on it' : 'scd2 keeps history per key'}; expected \`primary_key: [<column>]\` on the stream, or \`write: append\``,
    }];
  });
}

function mergeWithoutChecks(p: Parsed): Hit[] {
  return p.streams.flatMap((s) => (writeOf(s) !== 'merge' || p.entries('checks', s.name).length > 0 ? [] : [{
    path: [...s.path, 'write'],
    message: `merge stream \`${s.name ?? '?'}\` has no \`checks:\`: a bad export overwrites rows already loaded; expected at least one check under \`checks.${s.name ?? '<stream>'}\` (not_null, unique, …)`,
  }]));
}

// What redact.ts already treats as secret (SECRET_KEY), plus keys that hold a credential under another name, minus
// keys it matches that hold none: where to fetch a token, how a client authenticates, a file or path.
const MORE_SECRET_KEYS = /^(routing_key|webhook_url|smtp_url|dsn)$/i;
const NOT_SECRET_KEYS = /^(client_auth|token_url)$|_(url|uri|file|path)$/i;
const REFERENCE = /\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}/g;

const isSecretKey = (key: string): boolean => MORE_SECRET_KEYS.test(key) || (SECRET_KEY.test(key) && !NOT_SECRET_KEYS.test(key));

/** How a secret is written: `inline` (no reference), `default` (a reference with a literal fallback), or fine. */
function written(value: string): 'inline' | 'default' | undefined {
  const text = value.split('$${').join(''); // `$${` is a literal `${`, not a reference
  const refs = [...text.matchAll(REFERENCE)];
  if (refs.length === 0) return text.trim() === '' ? undefined : 'inline';
  return refs.some((m) => m[3]) ? 'default' : undefined;
}

const variableFor = (key: string): string => key.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '').toUpperCase() || 'SECRET';

function inlineSecrets(p: Parsed): Hit[] {
  const hits: Hit[] = [];
  // Keys under `columns:`, `transforms:` and `checks:` name columns (`password_hash: text`), not settings.
  const walk = (value: unknown, path: KeyPath, keyed: boolean): void => {
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, [...path, i], keyed));
      return;
    }
    if (isMapping(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, [...path, k], keyed && k !== 'columns');
      return;
    }
    if (typeof value !== 'string' && typeof value !== 'number') return;
    const text = String(value);
    const last = path[path.length - 1];
    const key = [...path].reverse().find((seg): seg is string => typeof seg === 'string');
    // An API key's `value` sits beside `in` and `name` under `auth`.
    const secret = keyed && key !== undefined && (isSecretKey(key) || (last === 'value' && path[path.length - 2] === 'auth'));
    const how = secret ? written(text) : undefined;
    if (how === 'inline') {
      hits.push({ path, message: `\`${key}\` holds a secret written inline: expected a reference to the environment, such as \`${key}: \${${variableFor(key!)}}\`` });
    } else if (how === 'default') {
      hits.push({ path, message: `\`${key}\` falls back to a secret written inline (\`\${NAME:-…}\`): expected \`\${NAME}\` without a default` });
    } else if (urlPasswords(text).some((pw) => written(pw) !== undefined)) {
      hits.push({ path, message: `\`${key ?? 'value'}\` is a URL with its password written inline (between \`user:\` and \`@\`): expected a reference to the environment in its place, such as \`\${PGPASSWORD}\`` });
    }
  };
  for (const [k, v] of Object.entries(p.root)) walk(v, [k], k !== 'transforms' && k !== 'checks');
  return hits;
}

/** Checks that say a column may be null: `not_null` that only warns or informs, so such rows load. */
function nullableCursor(p: Parsed): Hit[] {
  return p.streams.flatMap((s) => {
    const cursor = str(s.raw.cursor);
    if (cursor === undefined) return [];
    const evidence: string[] = [];
    for (const { path, entry } of p.entries('transforms', s.name)) {
      const columns = isMapping(entry.nullify) ? entry.nullify.columns : undefined;
      if (list(columns).includes(cursor)) evidence.push(`\`${formatPath(path)}\` (nullify) turns its values into null`);
    }
    for (const { path, entry } of p.entries('checks', s.name)) {
      const columns = typeof entry.not_null === 'string' ? [entry.not_null] : list(entry.not_null);
      if (columns.includes(cursor) && (entry.severity === 'warn' || entry.severity === 'info')) {
        evidence.push(`\`${formatPath(path)}\` (not_null, severity ${entry.severity}) lets null values load`);
      }
    }
    if (evidence.length === 0) return [];
    return [{
      path: [...s.path, 'cursor'],
      message: `cursor \`${cursor}\` can be null: ${evidence.join('; ')}; a row with a null cursor is skipped or loaded again on incremental runs; expected a cursor column that always has a value (a \`not_null\` check with severity error)`,
    }];
  });
}

function finePartitions(p: Parsed): Hit[] {
  return p.streams.flatMap((s) => {
    const by = typeof s.raw.partition_by === 'string' ? [s.raw.partition_by] : list(s.raw.partition_by).filter((c): c is string => typeof c === 'string');
    const keys = typeof s.raw.primary_key === 'string' ? [s.raw.primary_key] : list(s.raw.primary_key);
    const declared = isMapping(s.raw.columns) ? s.raw.columns : {};
    return by.flatMap((column) => {
      const why = keys.includes(column) ? 'is the primary key'
        : s.raw.cursor === column ? 'is the cursor'
          : typeOf(declared[column]) === 'timestamp' ? 'is a timestamp' : undefined;
      return why === undefined ? [] : [{
        path: [...s.path, 'partition_by'],
        message: `partition_by \`${column}\` ${why}: a directory (and a file every checkpoint) per distinct value; expected a coarse column such as a date (derive one: \`${column}_date\`)`,
      }];
    });
  });
}

function parsedOf(root: Record<string, unknown>): Parsed {
  const streams: Stream[] = [];
  list(root.sources).forEach((source, i) => {
    if (!isMapping(source)) return;
    list(source.streams).forEach((raw, j) => {
      if (isMapping(raw)) streams.push({ path: ['sources', i, 'streams', j], name: str(raw.name), raw });
    });
  });
  return {
    root,
    streams,
    entries(section, stream) {
      const all = root[section];
      if (stream === undefined || !isMapping(all)) return [];
      return list(all[stream]).flatMap((entry, i) => (isMapping(entry) ? [{ path: [section, stream, i], entry }] : []));
    },
  };
}

const byPosition = (a: LintFinding, b: LintFinding): number =>
  (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER) || (a.column ?? 0) - (b.column ?? 0) || a.rule.localeCompare(b.rule);

/** Run every rule on a parsed pipeline document; findings in file order. */
export function lintDocument(doc: Document, lineCounter: LineCounter, file?: string): LintFinding[] {
  const raw: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (!isMapping(raw)) return [];
  const parsed = parsedOf(raw);
  return RULES.flatMap((rule) => rule.find(parsed).map((hit) => ({
    rule: rule.id,
    severity: rule.severity,
    ...(file !== undefined ? { file } : {}),
    ...positionOf(doc, lineCounter, hit.path, hit.atKey),
    path: formatPath(hit.path),
    message: hit.message,
  }))).sort(byPosition);
}

/** True when the text's top level has a `pipeline:` key (or cannot be read as YAML: lint reports that). */
export function declaresPipeline(text: string): boolean {
  const doc = parseDocument(text);
  if (isMap(doc.contents)) return doc.contents.items.some((pair) => isScalar(pair.key) && pair.key.value === 'pipeline');
  return doc.errors.length > 0;
}

function invalid(e: ConfigError): LintFinding[] {
  return (e instanceof PipelineConfigError ? e.errors : [e]).map((err) => ({
    rule: INVALID_RULE,
    severity: 'error' as const,
    ...(err.details.file !== undefined ? { file: err.details.file } : {}),
    ...(err.details.line !== undefined ? { line: err.details.line } : {}),
    ...(err.details.column !== undefined ? { column: err.details.column } : {}),
    path: err.details.path ?? '',
    // As `validate` prints it: the key path first, since its messages rely on it (`… wirte unknown key`).
    message: [err.details.path, err.message].filter(Boolean).join(' ') + (err.details.suggestion ? `; ${err.details.suggestion}` : ''),
  }));
}

/** Stands in for a variable the environment does not set. */
const UNSET = '1';

/**
 * Variables referenced without a default that `env` does not set, and the paths (formatted) of the strings that
 * reference them: validation sees a stand-in there.
 */
function unsetReferences(root: unknown, env: Env): { names: Set<string>; paths: Set<string> } {
  const strings: { path: string; refs: RegExpMatchArray[] }[] = [];
  const walk = (value: unknown, path: KeyPath): void => {
    if (typeof value === 'string') strings.push({ path: formatPath(path), refs: [...value.split('$${').join('').matchAll(REFERENCE)] });
    else if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, i]));
    else if (isMapping(value)) for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
  };
  walk(root, []);
  const names = new Set(strings.flatMap((s) => s.refs.filter((m) => m[2] === undefined && env[m[1]] === undefined).map((m) => m[1])));
  return { names, paths: new Set(strings.filter((s) => s.refs.some((m) => names.has(m[1]))).map((s) => s.path)) };
}

/**
 * Validation (as `sluice validate` does it, `${VAR}` from `opts.env`, unset ones aside) and the rules, in file order. Where a rule
 * and validation report the same problem (a merge without a key), the rule's finding stands for both.
 */
export function lintPipelineText(text: string, opts: ParseOptions): LintFinding[] {
  const env = opts.env ?? process.env;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true });
  const unset = doc.errors.length > 0 ? { names: new Set<string>(), paths: new Set<string>() } : unsetReferences(doc.toJS({ maxAliasCount: 1000 }), env);
  let rejected: LintFinding[] = [];
  try {
    // An unset variable is the environment's business (`validate` and `run` say so), not the file's: it gets a
    // stand-in value, and what validation says about such a value is left out.
    const stand = Object.fromEntries([...unset.names].map((name) => [name, UNSET]));
    parsePipeline(text, { ...opts, env: { ...env, ...stand } });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    rejected = invalid(e).filter((r) => !unset.paths.has(r.path));
  }
  if (doc.errors.length > 0) return rejected;
  const found = lintDocument(doc, lineCounter, opts.file);
  const restated = (r: LintFinding) => found.some((f) => f.path === r.path && RULES.find((rule) => rule.id === f.rule)?.restates?.test(r.message));
  return [...rejected.filter((r) => !restated(r)), ...found].sort(byPosition);
}
