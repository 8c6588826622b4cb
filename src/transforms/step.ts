// The contract of a transform step kind — one spec per kind, like the connector specs: its options (a zod schema
// whose .describe() texts are the reference docs), and `compile`, which turns validated options into a step that
// works on the rows of a batch. Compiling happens once per stream and run.
import { z } from 'zod';
import type { ColumnType, Row } from '../core/types.js';
import type { Frame } from './frame.js';
import { setKey } from './frame.js';

export interface StepEnv {
  /** The stream the step belongs to. */
  stream: string;
  /** The run's id (`run_id()` in expressions). */
  runId?: string;
  /** The stream's primary key (flatten uses it as the parent key). */
  primaryKey: string[];
  /** Rows of another stream of the pipeline, read in full from its source (lookups). */
  readStream?(name: string): AsyncIterable<Row[]>;
  /** Rows of a destination table (lookups); undefined when the destination cannot be read. */
  readTable?(table: string, columns: string[]): AsyncIterable<Row[]>;
  /** The stream's own table in the destination (what earlier runs loaded: resolve reads its ids there). */
  targetTable?: string;
  /**
   * Set when child tables replace each parent's rows (see src/engine/child-loads.ts): flatten then names every
   * parent it processes with a marker row. `deleteColumn` is the stream's delete marker: a parent carrying it keeps
   * no children.
   */
  replaceChildren?: { deleteColumn?: string };
}

export interface CompiledStep {
  /** Work on a batch's rows: change them in place or return another frame; mark rejects and drops on it. */
  apply(frame: Frame): Frame | Promise<Frame>;
  /**
   * A blocking step (aggregate, keep-last dedupe) holds rows until the end of the stream, then emits them here: in one
   * frame, or in several (resolve: a million rows in one frame would all be in memory at once, through every phase).
   */
  flush?(): Frame | Iterable<Frame> | AsyncIterable<Frame> | undefined;
  /** Follow the step's effect on column types known before it (a cast declares them, a rename moves them). */
  types?(declared: Map<string, ColumnType>): void;
  /** Columns the step may add to a row (derive, map, lookup): rows are copied with room for them. */
  adds?: number;
  /** Child rows by child stream name that this batch produced (flatten), taken after each batch. */
  takeChildren?(): Map<string, Row[]> | undefined;
}

export interface StepSpec<O = any> {
  kind: string;
  description: string;
  /** Options of the step: the value under its kind (`- trim: [a, b]` → `[a, b]`). */
  options: z.ZodType<O>;
  /** True for steps whose output only exists at the end of the stream. */
  blocking?: (options: O) => boolean;
  /**
   * The step's output for a row depends on rows elsewhere in the stream (a dedupe's first-seen keys, a flatten's child
   * tables kept in step with the parent): a stream with it is never split into slices loaded apart (src/workers/split.ts).
   */
  wholeStream?: boolean;
  compile(options: O, env: StepEnv): CompiledStep;
}

export const defineStep = <O>(spec: StepSpec<O>): StepSpec<O> => spec;

/**
 * Rows per frame a blocking step emits at a time (resolve, golden). The frames go on through validation and the load,
 * and rows that live through more than a young generation's worth of allocation are promoted: 10k-row frames grew the
 * old generation by ~200 MB over a 1M-row emit, 4k-row ones by half that (DuckDB's appender costs the same per row
 * either way).
 */
export const FLUSH_ROWS = 4_096;

/** `[a, b]` or `"*"`: the columns a value step works on. */
export const columnList = (what: string) => z.union([z.array(z.string()).min(1), z.literal('*')])
  .describe(`Columns to ${what}: a list of names, or "*" for every column.`);

export type Columns = string[] | '*';

/**
 * Replace values of some columns: `fn(value, rowIndex)` returns the new value (it may mark the row rejected on the
 * frame). Nulls are passed over. Columnar frames map by slot (indexes computed once per layout).
 */
export function mapValues(frame: Frame, owner: object, columns: Columns, fn: (v: unknown, i: number) => unknown): void {
  if (frame.layout) {
    const slots = frame.layout.plan(owner, (l) => l.slotsOf(columns));
    const values = frame.values;
    for (let i = 0; i < values.length; i++) {
      const row = values[i];
      for (let k = 0; k < slots.length; k++) {
        const v = row[slots[k]];
        if (v !== null && v !== undefined) row[slots[k]] = fn(v, i);
      }
    }
    return;
  }
  const rows = frame.rows;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const keys = columns === '*' ? Object.keys(row) : columns;
    for (const key of keys) {
      if (!Object.hasOwn(row, key)) continue;
      const v = row[key];
      if (v !== null && v !== undefined) setKey(row, key, fn(v, i));
    }
  }
}

/** Set one column of every row: `values[i]` is row i's (derive, map, lookup). */
export function setColumn(frame: Frame, owner: object, name: string, values: readonly unknown[]): void {
  if (frame.layout) {
    const { layout, slot } = frame.layout.plan(owner, (l) => l.withColumn(name));
    const rows = frame.values;
    for (let i = 0; i < rows.length; i++) rows[i][slot] = values[i];
    frame.layout = layout;
    return;
  }
  const rows = frame.rows;
  for (let i = 0; i < rows.length; i++) setKey(rows[i], name, values[i]);
}

/** Row `i` values of `cols` as one key string (dedupe, lookup, aggregate); null when any part is null. */
export function keyGetter(frame: Frame, cols: string[]): (row: any) => string | null {
  const getters = cols.map((c) => frame.getter(c));
  if (getters.length === 1) {
    const g = getters[0];
    return (r) => {
      const v = g(r);
      return v === null || v === undefined ? null : keyText(v);
    };
  }
  return (r) => {
    let key = '';
    for (let k = 0; k < getters.length; k++) {
      const v = getters[k](r);
      if (v === null || v === undefined) return null;
      key += (k ? '\u0001' : '') + keyText(v);
    }
    return key;
  };
}

/** Key text of a value: `1`, `1n` and `'1'` are the same key, so a CSV id matches a database id. */
export const keyText = (v: unknown): string =>
  typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
