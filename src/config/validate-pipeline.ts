// Validation of a parsed pipeline tree, connector by connector: the top level, then each source dispatched on
// its `type`, then the destination, then checks across them (unique names, merge keys, capabilities).
// It returns every issue it finds; load.ts turns them into ConfigErrors with file positions.
import type { z } from 'zod';
import type { StreamConfig } from '../core/connector.js';
import { parseDeclared } from '../core/types.js';
import { errorMessage } from '../core/errors.js';
import { readOrder } from '../core/read-order.js';
import {
  DEFAULT_DESTINATION, destinationSpecs, getDestinationSpec, getSourceSpec, sourceSpecs,
} from '../connectors/registry.js';
import { pathKey, type KeyPath } from './locate.js';
import { nearest } from './nearest.js';
import { parseAlerts } from './alerts-spec.js';
import { destinationSchema, sourceSchema, topLevelSchema } from './pipeline-spec.js';
import type { DestinationConfig, PipelineConfig, SourceConfig } from './types.js';
import { normaliseColumns } from './declared-columns.js';
import { describeType, mapIssues, valueAt, type ConfigIssue } from './zod-issues.js';
import { validateChecks } from './validate-checks.js';
import { isMapping } from './validate-stream-lists.js';
import { validateTransforms } from './validate-transforms.js';

export type Validation = { ok: true; config: PipelineConfig } | { ok: false; issues: ConfigIssue[] };

function parseWith<T>(schema: z.ZodType, data: unknown, prefix: KeyPath, issues: ConfigIssue[]): T | undefined {
  const r = schema.safeParse(data);
  if (r.success) return r.data as T;
  issues.push(...mapIssues(r.error.issues, schema, data, prefix));
  return undefined;
}

/** Dispatch on `type`; an unknown type lists the known ones and suggests the nearest. */
function typeIssue(kind: 'source' | 'destination', value: unknown, known: readonly string[], path: KeyPath): ConfigIssue {
  const list = known.map((t) => `\`${t}\``).join(', ');
  if (value === undefined) return { path: [...path, 'type'], message: `required key \`type\` is missing (known ${kind} types: ${list})`, expected: `one of: ${known.join(', ')}` };
  if (typeof value !== 'string') return { path: [...path, 'type'], message: `expected string, got ${describeType(value)}`, expected: `one of: ${known.join(', ')}` };
  const near = nearest(value, known);
  return {
    path: [...path, 'type'],
    message: `unknown ${kind} type \`${value}\` (known ${kind} types: ${list})`,
    expected: `one of: ${known.join(', ')}`,
    suggestion: near ? `did you mean \`${near}\`?` : undefined,
  };
}

function validateSource(raw: unknown, path: KeyPath, issues: ConfigIssue[]): SourceConfig | undefined {
  if (!isMapping(raw)) {
    issues.push({ path, message: `expected a mapping with \`name\`, \`type\` and \`streams\`, got ${describeType(raw)}`, expected: 'mapping' });
    return undefined;
  }
  const spec = typeof raw.type === 'string' ? getSourceSpec(raw.type) : undefined;
  if (!spec) {
    issues.push(typeIssue('source', raw.type, sourceSpecs().map((s) => s.type), path));
    return undefined;
  }
  return parseWith<SourceConfig>(sourceSchema(spec), raw, path, issues);
}

/**
 * The `destination` of a pipeline; with `path` and `types`, any connection described like one (a sync file's systems),
 * of the types given.
 */
export function validateDestination(
  raw: unknown, issues: ConfigIssue[], path: KeyPath = ['destination'], types?: readonly string[],
): DestinationConfig | undefined {
  if (raw === undefined && types) {
    issues.push({ path, message: `required key \`${path[path.length - 1]}\` is missing`, expected: `a mapping with \`type\` (one of: ${types.join(', ')})` });
    return undefined;
  }
  if (raw === undefined) {
    const spec = getDestinationSpec(DEFAULT_DESTINATION);
    if (!spec) {
      issues.push({ path, message: `no \`destination\` given and the default destination \`${DEFAULT_DESTINATION}\` is not registered` });
      return undefined;
    }
    return parseWith<DestinationConfig>(destinationSchema(spec), { type: DEFAULT_DESTINATION }, path, issues);
  }
  if (!isMapping(raw)) {
    issues.push({ path, message: `expected a mapping with \`type\`, got ${describeType(raw)}`, expected: 'mapping' });
    return undefined;
  }
  const known = types ?? destinationSpecs().map((d) => d.type);
  const spec = typeof raw.type === 'string' && known.includes(raw.type) ? getDestinationSpec(raw.type) : undefined;
  if (!spec) {
    issues.push(typeIssue('destination', raw.type, known, path));
    return undefined;
  }
  return parseWith<DestinationConfig>(destinationSchema(spec), raw, path, issues);
}

/** Rules that span keys or components; run on whatever parsed. */
function crossCheck(sources: (SourceConfig | undefined)[], destination: DestinationConfig | undefined, issues: ConfigIssue[]): void {
  const sourceNames = new Map<string, number>();
  const streamNames = new Map<string, string>();
  let dispositions: readonly string[] | undefined;
  let keyed = false;
  let partitions = false;
  if (destination) {
    try {
      const capabilities = getDestinationSpec(destination.type)?.capabilities(destination);
      dispositions = capabilities?.dispositions;
      keyed = !!capabilities?.keyed;
      partitions = !!capabilities?.partitions;
    } catch (e) {
      issues.push({ path: ['destination'], message: `invalid destination: ${errorMessage(e)}` });
    }
  }
  sources.forEach((source, i) => {
    if (!source) return;
    const first = sourceNames.get(source.name);
    if (first !== undefined) issues.push({ path: ['sources', i, 'name'], message: `duplicate source name \`${source.name}\` (also sources[${first}])` });
    else sourceNames.set(source.name, i);
    source.streams.forEach((stream: StreamConfig, j) => {
      const here: KeyPath = ['sources', i, 'streams', j];
      const where = `sources[${i}].streams[${j}]`;
      const other = streamNames.get(stream.name);
      if (other !== undefined) issues.push({ path: [...here, 'name'], message: `duplicate stream name \`${stream.name}\` (also ${other}); stream names are unique across the pipeline` });
      else streamNames.set(stream.name, where);
      if ((stream.write === 'merge' || stream.write === 'scd2') && stream.primary_key.length === 0) {
        issues.push({ path: [...here, 'write'], message: `\`write: ${stream.write}\` requires \`primary_key\` (${stream.write === 'merge' ? 'merge upserts on it' : 'history is kept per key'})`, expected: 'primary_key', suggestion: 'add `primary_key: [<column>]` to the stream, or use `write: append`' });
      } else if (keyed && stream.primary_key.length === 0) {
        issues.push({ path: [...here, 'name'], message: `destination \`${destination?.type}\` stores each row under its key: stream \`${stream.name}\` needs a \`primary_key\``, expected: 'primary_key', suggestion: 'add `primary_key: [<column>]` to the stream' });
      }
      for (const [column, declared] of Object.entries(stream.columns ?? {})) {
        if (parseDeclared(declared) === undefined) {
          issues.push({ path: [...here, 'columns', column], message: `\`${declared}\` is no decimal(p,s): p is at least 1 and s at most p`, expected: 'decimal(p,s) with 1 ≤ p and 0 ≤ s ≤ p' });
        }
      }
      if (stream.lookback !== undefined && !stream.cursor) {
        issues.push({ path: [...here, 'lookback'], message: '`lookback` re-reads behind the watermark of the stream\'s `cursor`, and the stream has none', expected: 'cursor', suggestion: 'add `cursor: <column>` to the stream' });
      } else if (stream.lookback !== undefined && stream.write === 'append' && !stream.primary_key?.length) {
        issues.push({ path: [...here, 'lookback'], message: '`lookback` reads rows again that an earlier run loaded; `write: append` tells them by their `primary_key`, and the stream has none', expected: 'primary_key', suggestion: 'add `primary_key: [<column>]`, or use `write: merge`' });
      }
      if (stream.partition_by?.length && destination && !partitions) {
        issues.push({ path: [...here, 'partition_by'], message: `destination \`${destination.type}\` does not lay tables out in partition directories`, expected: 'the files destination', suggestion: destination.type === 'postgres' ? 'partition a PostgreSQL table with the destination\'s `partitions:` key' : 'remove `partition_by`' });
      } else if (stream.partition_by && new Set(stream.partition_by).size < stream.partition_by.length) {
        issues.push({ path: [...here, 'partition_by'], message: 'a column is named twice in `partition_by`' });
      }
      if (dispositions && !dispositions.includes(stream.write)) {
        issues.push({ path: [...here, 'write'], message: `destination \`${destination?.type}\` does not support \`write: ${stream.write}\` (supported: ${dispositions.join(', ')})`, expected: `one of: ${dispositions.join(', ')}` });
      }
    });
  });
  tableCycles(sources, issues);
}

/** Streams that read tables other streams load (the `tables` source) must not, in the end, read their own. */
function tableCycles(sources: (SourceConfig | undefined)[], issues: ConfigIssue[]): void {
  const { cycle } = readOrder(sources.flatMap((source, i) => (source?.streams ?? []).map((stream, j) => ({
    item: ['sources', i, 'streams', j, 'tables'] as KeyPath, name: stream.name, table: stream.destination_table ?? stream.name,
    reads: getSourceSpec(source!.type)?.reads?.(stream, source!) ?? [],
  }))));
  if (cycle) issues.push({ path: cycle.at, message: `streams read each other's tables in a cycle: ${cycle.names.join(' → ')}` });
}

/** Stream names as written, also under sources that failed validation (so `transforms` is not blamed for them). */
const streamNamesOf = (sources: unknown): string[] => (Array.isArray(sources) ? sources : [])
  .flatMap((s) => (isMapping(s) && Array.isArray(s.streams) ? s.streams : []))
  .flatMap((st) => (isMapping(st) && typeof st.name === 'string' ? [st.name] : []));

function validateOnce(raw: unknown): Validation {
  const issues: ConfigIssue[] = [];
  if (!isMapping(raw)) {
    return { ok: false, issues: [{ path: [], message: `expected a mapping with \`pipeline\` and \`sources\` keys, got ${describeType(raw)}`, expected: 'mapping' }] };
  }
  // `alerts` is checked by its own parser, whose messages know channels and rules (alerts-spec.ts).
  const top = parseWith<z.output<typeof topLevelSchema>>(topLevelSchema, { ...raw, alerts: undefined }, [], issues);
  if (raw.alerts !== undefined) {
    const alerts = parseAlerts(raw.alerts, { path: ['alerts'], anyChannel: true });
    if (!alerts.ok) issues.push(...alerts.issues);
  }
  const sources = Array.isArray(raw.sources) ? raw.sources.map((s, i) => validateSource(s, ['sources', i], issues)) : [];
  for (const source of sources) for (const stream of source?.streams ?? []) normaliseColumns(stream);
  const destination = validateDestination(raw.destination, issues);
  crossCheck(sources, destination, issues);
  if (top?.views?.length && destination && !getDestinationSpec(destination.type)?.capabilities(destination).views) {
    issues.push({ path: ['views'], message: `destination \`${destination.type}\` cannot create views`, expected: 'a destination with views: duckdb or postgres' });
  }
  const transforms = validateTransforms(raw.transforms, streamNamesOf(raw.sources), issues);
  const checks = validateChecks(raw.checks, streamNamesOf(raw.sources), issues);
  if (issues.length > 0 || !top || !destination) return { ok: false, issues };
  const { sources: _s, destination: _d, ...rest } = top;
  const config: PipelineConfig = {
    pipeline: rest.pipeline,
    ...(rest.description !== undefined ? { description: rest.description } : {}),
    sources: sources as SourceConfig[],
    destination,
    concurrency: rest.concurrency,
    batch_size: rest.batch_size,
    checkpoint_rows: rest.checkpoint_rows,
    ...(rest.schedule !== undefined ? { schedule: rest.schedule } : {}),
    ...(rest.retention !== undefined ? { retention: rest.retention } : {}),
    ...(raw.alerts !== undefined ? { alerts: raw.alerts } : {}),
    ...(transforms ? { transforms } : {}),
    ...(rest.views?.length ? { views: rest.views } : {}),
    ...(checks ? { checks } : {}),
    ...(rest.privacy ? { privacy: rest.privacy } : {}),
  };
  // Each stream carries the DLQ setting, so a task (on a worker too) needs nothing but its stream.
  if (rest.privacy?.dlq === 'mask') for (const src of config.sources) for (const st of src.streams) if (st.pii?.length) st.pii_dlq = 'mask';
  return { ok: true, config };
}

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** `port: ${PORT}` yields a string; where the key wants a number or boolean, an interpolated value converts. */
function convert(value: unknown, expected: string | undefined): unknown {
  if (typeof value !== 'string') return undefined;
  const v = value.trim();
  if ((expected === 'int' || expected === 'number') && NUMBER.test(v)) return Number(v);
  if (expected === 'boolean' && (v === 'true' || v === 'false')) return v === 'true';
  return undefined;
}

/**
 * Validate a parsed (and interpolated) pipeline tree. `interpolated` holds the paths of values produced by
 * `${…}`; those may be converted to the number or boolean their key expects, and the tree is revalidated.
 * `raw` may be modified in place at those paths, so pass a tree you own.
 */
export function validatePipeline(raw: unknown, interpolated: ReadonlySet<string> = new Set()): Validation {
  for (let attempt = 0; ; attempt++) {
    const result = validateOnce(raw);
    if (result.ok || interpolated.size === 0 || attempt >= 8) return result;
    let changed = false;
    for (const issue of result.issues) {
      if (!interpolated.has(pathKey(issue.path)) || issue.path.length === 0) continue;
      const converted = convert(valueAt(raw, issue.path), issue.expectedType);
      if (converted === undefined) continue;
      const parent = valueAt(raw, issue.path.slice(0, -1)) as Record<string | number, unknown>;
      parent[issue.path[issue.path.length - 1]] = converted;
      changed = true;
    }
    if (!changed) return result;
  }
}
