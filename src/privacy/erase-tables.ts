// A data subject erased from the destination tables a pipeline writes: each stream's table (every version of an SCD2
// stream's rows: the rows sharing a key with a matching row go too) and the child tables its `flatten` steps fill,
// found by `_parent_key` from the parent keys erased. Tables, columns and keys are read from each stream's committed
// state (the schema the table was made with), so a column renamed for the destination is found by either name.
import type { Destination, StreamConfig } from '../core/connector.js';
import { ConfigError } from '../core/errors.js';
import { piiOf } from '../core/pii.js';
import type { Column, ColumnType } from '../core/types.js';
import type { LoadedPipeline } from '../config/types.js';
import { childStreamName } from '../transforms/steps/flatten.js';
import { keyText } from '../transforms/step.js';

export interface TableErasure {
  table: string;
  stream: string;
  /** The stream's own table, or a child table of one. */
  kind: 'stream' | 'child';
  rows: number;
}

export interface SubjectKey {
  column: string;
  value: string;
}

/** `stream`'s columns as the destination has them, or undefined when it never loaded. */
async function tableColumns(dest: Destination, pipeline: string, stream: string): Promise<Column[] | undefined> {
  return (await dest.readState(pipeline, stream))?.schema?.columns;
}

const targetOf = (columns: Column[], name: string): string | undefined => {
  const c = columns.find((x) => x.name === name) ?? columns.find((x) => x.target === name);
  return c ? c.target ?? c.name : undefined;
};

/**
 * The value typed on a command line as the column holds it: numbers as numbers, so that every destination compares
 * them as numbers (SQLite's affinity, DuckDB's parameter types), booleans as booleans, anything else as text.
 */
export function typedValue(text: string, type: ColumnType): unknown {
  if ((type === 'integer' || type === 'bigint') && /^-?\d+$/.test(text.trim())) return BigInt(text.trim());
  if (type === 'double' && text.trim() !== '' && Number.isFinite(Number(text))) return Number(text);
  if (type === 'boolean' && /^(true|false)$/i.test(text.trim())) return text.trim().toLowerCase() === 'true';
  return text;
}

/** The `flatten` children of a stream: their stream (and table) names. */
function childStreams(loaded: LoadedPipeline, stream: string): string[] {
  return (loaded.config.transforms?.[stream] ?? []).flatMap((step) => {
    const flatten = (step as Record<string, unknown>).flatten as { column?: unknown } | undefined;
    return flatten && typeof flatten.column === 'string' ? [childStreamName(stream, flatten.column)] : [];
  });
}

interface StreamPlan {
  stream: StreamConfig;
  table: string;
  column: string;
  value: unknown;
  key: string[];
  personal: string[];
  /** The column's source and target names. */
  names: string[];
}

/**
 * What erasing touches, stream by stream, worked out before anything changes: a stream that cannot be anonymised (no
 * `pii` columns to blank) stops the request before any table is touched.
 */
async function plan(loaded: LoadedPipeline, dest: Destination, subject: SubjectKey, anonymise: boolean): Promise<StreamPlan[]> {
  const plans: StreamPlan[] = [];
  for (const stream of loaded.config.sources.flatMap((s) => s.streams)) {
    const columns = await tableColumns(dest, loaded.config.pipeline, stream.name);
    const column = columns && targetOf(columns, subject.column);
    if (!columns || !column) continue;
    const found = columns.find((c) => (c.target ?? c.name) === column)!;
    const key = stream.primary_key.map((k) => targetOf(columns, k)).filter((k): k is string => k !== undefined);
    const personal = piiOf(stream).map((c) => targetOf(columns, c)).filter((c): c is string => c !== undefined && !key.includes(c));
    if (anonymise && personal.length === 0) {
      throw new ConfigError(`stream ${stream.name} has no \`pii\` columns to anonymise`, {
        path: `streams.${stream.name}.pii`, expected: 'the personal columns to blank, or `privacy: { erasure: delete }`',
      });
    }
    plans.push({ stream, table: stream.destination_table ?? stream.name, column, value: typedValue(subject.value, found.type), key: key.length === stream.primary_key.length ? key : [], personal,
      names: [found.name, column],
    });
  }
  return plans;
}

/** What was erased from each table, and the names the column has at the sources and in the tables (the DLQ's rows use either). */
export async function eraseFromTables(
  loaded: LoadedPipeline, dest: Destination, subject: SubjectKey, o: { anonymise: boolean; dryRun: boolean },
): Promise<{ tables: TableErasure[]; names: string[] }> {
  const pipeline = loaded.config.pipeline;
  const out: TableErasure[] = [];
  const names = new Set([subject.column]);
  const plans = await plan(loaded, dest, subject, o.anonymise);
  for (const p of plans) for (const n of p.names) names.add(n);
  for (const p of plans) {
    const erased = await dest.eraseSubject!({ table: p.table, column: p.column, values: [p.value], key: p.key },
      { dryRun: o.dryRun, ...(o.anonymise ? { anonymise: p.personal } : {}) });
    out.push({ table: p.table, stream: p.stream.name, kind: 'stream', rows: erased.rows });
    // Children name their parent by its key as flatten wrote it: the key's values as text, joined with "|".
    const parents = erased.keys.map((k) => k.map(keyText).join('|'));
    for (const child of childStreams(loaded, p.stream.name)) {
      const childColumns = await tableColumns(dest, pipeline, child);
      const parentKey = childColumns && targetOf(childColumns, '_parent_key');
      const childPersonal = (childColumns && piiOf(p.stream).map((c) => targetOf(childColumns, c)).filter((c): c is string => c !== undefined)) ?? [];
      // Anonymising keeps the children; only their personal columns (the parent's `pii` names) are blanked.
      const rows = !parentKey || parents.length === 0 || (o.anonymise && childPersonal.length === 0) ? 0
        : (await dest.eraseSubject!({ table: child, column: parentKey, values: parents, key: [] },
          { dryRun: o.dryRun, ...(o.anonymise ? { anonymise: childPersonal } : {}) })).rows;
      out.push({ table: child, stream: child, kind: 'child', rows });
    }
  }
  return { tables: out, names: [...names] };
}
