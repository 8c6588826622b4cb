// The contract of a check kind — one spec per kind, like the connector and transform-step specs: its options (a zod
// schema whose .describe() texts are the reference docs), whether it judges rows or the dataset, and `compile`,
// which turns validated options into a check bound once per stream and run.
//
// Row checks see coerced rows (arrays aligned with the stream's columns) and return why a row fails; dataset
// checks observe rows and give one verdict at the end of the stream, before anything becomes visible.
import type { z } from 'zod';
import type { Row } from '../core/types.js';

export const SEVERITIES = ['error', 'warn', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** `1%` (a share of the checked rows) or a count of failing rows. */
export type Threshold = { ratio: number; text: string } | { count: number; text: string };

/** One validated entry of `checks.<stream>`. */
export interface CheckConfig {
  kind: string;
  options: unknown;
  severity: Severity;
  threshold?: Threshold;
}

/** Column position in the coerced rows, or -1 when the stream has no such column (its values read as null). */
export type Resolve = (column: string) => number;

/** Row `i` of the batch fails, and why. */
export type Fail = (i: number, why: string) => void;
/** A row check over a batch: `fail` for every failing row, once per row, in row order. */
export type Scan = (rows: readonly unknown[][], fail: Fail) => void;

/** What a check may ask of the run around it (all lookups are read once per stream and run). */
export interface CheckEnv {
  pipeline: string;
  stream: string;
  /** Rows of another stream of the pipeline, read in full from its source. */
  readStream?(name: string): AsyncIterable<Row[]>;
  /** Rows of a destination table; undefined when the destination cannot be read (files). */
  readTable?(table: string, columns: string[]): AsyncIterable<Record<string, unknown>[]>;
  /** The stream's cursor column, when it has one (freshness defaults to it). */
  cursor?: string;
  /** The stream's own target table, and a source column's name in it. */
  targetTable: string;
  targetColumn(column: string): string;
  /** False when this run replaces the target (full refresh): its current rows do not count. */
  targetKept: boolean;
  /** Rows loaded by earlier successful runs of this stream, newest first (volume). */
  history?(limit: number): Promise<number[]>;
}

/** Facts about the whole stream that dataset checks judge. */
export interface DatasetFacts {
  /** Rows that passed the row checks and went to the destination (staged when gated). */
  rows: number;
  now: Date;
}

export interface Verdict {
  ok: boolean;
  /** The measured value as shown to a person (`0 rows`, `age 3d 4h`, `+72%`). */
  measured: string;
  /** The limit it was held against (`min 1`, `max_age 2d`). */
  limit: string;
  /** Timeliness in [0, 1] (freshness), for the quality score. */
  timeliness?: number;
}

export interface CompiledCheck {
  /** Label used in reasons and reports: `not_null(customer_id)`. */
  label: string;
  /** Columns the check reads (completeness is measured over them). */
  columns: string[];
  /** Counts towards consistency (uniqueness, referential integrity). */
  consistency?: boolean;
  /** Read what the check needs before the first row (reference keys, target keys, history). */
  prepare?(): Promise<void>;
  /**
   * A row check bound to a column layout: the reason row `row` fails, or undefined. Called again when the
   * stream gains columns, never per row.
   */
  row?(resolve: Resolve): (row: unknown[]) => string | undefined;
  /**
   * The same check over a whole batch, with the same reasons. The loop sits inside the check, so the batch costs one
   * call per check instead of one per row and check, from a call site that sees every kind (10 checks, 1M rows: see
   * stream-quality.ts). Bound like `row`.
   */
  scan?(resolve: Resolve): Scan;
  /** A dataset check: an observer of every checked row (optional) … */
  observe?(resolve: Resolve): (row: unknown[]) => void;
  /** … and its verdict at the end of the stream. */
  verdict?(facts: DatasetFacts): Promise<Verdict> | Verdict;
  /** True when failing this check (severity error) must block the load even without a threshold. */
  gate?: boolean;
}

export interface CheckSpec<O = any> {
  kind: string;
  description: string;
  level: 'row' | 'dataset';
  /** The value under the kind (`- not_null: [a, b]` → `[a, b]`). */
  options: z.ZodType<O>;
  compile(options: O, env: CheckEnv): CompiledCheck;
  /** Streams of the pipeline the options name, with their key path under the kind (checked at validation). */
  streams?(options: O): { stream: string; path: (string | number)[] }[];
}

export const defineCheck = <O>(spec: CheckSpec<O>): CheckSpec<O> => spec;

/** A value as a reason shows it: short, quoted when text. */
export function shown(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? v.toString() : JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Key text of a value, so `1`, `1n` and `'1'` are one key (a CSV id matches a database id). */
export const keyOf = (v: unknown): string =>
  typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);

/** A row check written as a scan (see `CompiledCheck.scan`): its `row` is the scan of a batch of one. */
export function scanCheck(check: Omit<CompiledCheck, 'row' | 'scan'> & { scan(resolve: Resolve): Scan }): CompiledCheck {
  return {
    ...check,
    scan: check.scan,
    row(resolve) {
      const scan = check.scan(resolve);
      const one: unknown[][] = [[]];
      let reason: string | undefined;
      const fail: Fail = (_i, why) => { reason = why; };
      return (row) => {
        reason = undefined;
        one[0] = row;
        scan(one, fail);
        return reason;
      };
    },
  };
}

/** The scan of a row check that only has `row` (one call per row). */
export function scanOf(row: (row: unknown[]) => string | undefined): Scan {
  return (rows, fail) => {
    for (let i = 0; i < rows.length; i++) {
      const why = row(rows[i]);
      if (why !== undefined) fail(i, why);
    }
  };
}

/**
 * A row check of one column's value. Nulls pass (not_null is the check for them); `fails` says why a value fails,
 * or returns undefined. The reason is prefixed with the column.
 */
export function valueCheck(name: string, column: string, fails: (v: unknown) => string | undefined): CompiledCheck {
  return scanCheck({
    label: `${name}(${column})`,
    columns: [column],
    scan(resolve) {
      const at = resolve(column);
      return (rows, fail) => {
        // A column the stream lacks reads as null in every row: nothing to judge.
        if (at < 0) return;
        for (let i = 0; i < rows.length; i++) {
          const v = rows[i][at];
          if (v === null || v === undefined) continue;
          const why = fails(v);
          if (why !== undefined) fail(i, `column "${column}": ${shown(v)} ${why}`);
        }
      };
    },
  });
}
