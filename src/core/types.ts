// The vocabulary of ../shared/DESIGN.md as types. Everything else in Sluice speaks these.

/** Logical scalar types; each destination maps them to its own. */
export const SCALAR_TYPES = [
  'text', 'integer', 'bigint', 'decimal', 'double', 'boolean', 'date', 'timestamp', 'json', 'binary', 'uuid',
] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];

/**
 * Scalars an array column may hold: `integer[]`, `text[]`, … (one dimension, elements may be null). PostgreSQL and
 * DuckDB store them natively (`int4[]`, `INTEGER[]`); destinations without arrays store JSON arrays. A list of
 * JSON or bytes is plain `json`.
 */
export const ARRAY_ELEMENT_TYPES = [
  'text', 'integer', 'bigint', 'decimal', 'double', 'boolean', 'date', 'timestamp', 'uuid',
] as const satisfies readonly ScalarType[];
export type ArrayElementType = (typeof ARRAY_ELEMENT_TYPES)[number];
export type ArrayType = `${ArrayElementType}[]`;

/** Logical column types: the scalars and their arrays. */
export const COLUMN_TYPES = [
  ...SCALAR_TYPES,
  ...ARRAY_ELEMENT_TYPES.map((t): ArrayType => `${t}[]`),
] as const satisfies readonly string[];
export type ColumnType = ScalarType | ArrayType;

/** The element type of an array type; undefined for a scalar. */
export const elementType = (type: ColumnType): ArrayElementType | undefined =>
  type.endsWith('[]') ? (type.slice(0, -2) as ArrayElementType) : undefined;

/** The type of an array of `element`: a typed array when an array type holds it, JSON otherwise. */
export const arrayOf = (element: ColumnType): ColumnType =>
  (ARRAY_ELEMENT_TYPES as readonly string[]).includes(element) ? (`${element}[]` as ArrayType) : 'json';

/** A type's spelling in a destination: scalars from its table, arrays as `map(element)` (`int4[]`, `INTEGER[]`). */
export const typeName = (
  names: Record<ScalarType, string>, type: ColumnType, array: (element: string) => string,
): string => {
  const element = elementType(type);
  return element === undefined ? names[type as ScalarType] : array(names[element]);
};

export const WRITE_DISPOSITIONS = ['append', 'replace', 'merge', 'scd2'] as const;
export type WriteDisposition = (typeof WRITE_DISPOSITIONS)[number];

/** What happens when a value does not fit the column's type. */
export const SCHEMA_POLICIES = ['widen', 'reject', 'fail'] as const;
export type SchemaPolicy = (typeof SCHEMA_POLICIES)[number];

/**
 * A stream's schema contract, when it has one (it then decides instead of `on_schema_change`): `evolve` adds
 * columns and widens inferred types; `freeze` sends rows with new columns or values that do not fit to the DLQ;
 * `discard_value` drops new columns and turns values that do not fit into null; `discard_row` drops such rows
 * (counted as filtered).
 */
export const SCHEMA_CONTRACTS = ['evolve', 'freeze', 'discard_value', 'discard_row'] as const;
export type SchemaContract = (typeof SCHEMA_CONTRACTS)[number];

/**
 * A row as it travels through the engine. Values are JS primitives: string, number, bigint, boolean, null,
 * Date (timestamps), plain objects/arrays (json), Uint8Array (binary). Dates as ISO strings stay strings
 * until the schema coerces them.
 */
export type Row = Record<string, unknown>;

/** A declared column type: a logical type, or `decimal(p,s)`, a decimal of at most p digits, s of them after the point. */
export type DeclaredType = ColumnType | `decimal(${number},${number})`;

const DECIMAL_DECLARED = /^decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/;

/** A declared type as a logical type with its precision and scale; undefined when it is no type. */
export function parseDeclared(t: string): { type: ColumnType; precision?: number; scale?: number } | undefined {
  if ((COLUMN_TYPES as readonly string[]).includes(t)) return { type: t as ColumnType };
  const m = DECIMAL_DECLARED.exec(t);
  if (!m) return undefined;
  const precision = Number(m[1]);
  const scale = Number(m[2]);
  return precision >= 1 && scale <= precision ? { type: 'decimal', precision, scale } : undefined;
}

/** A column as a destination creates it: its logical type, and the digits of a declared `decimal(p,s)`. */
export interface TypedColumn {
  name: string;
  type: ColumnType;
  precision?: number;
  scale?: number;
}

/** The name and type a load keeps of a schema column (its declared digits included). */
export const typedColumn = (c: Column, name: string): TypedColumn =>
  (c.precision === undefined ? { name, type: c.type } : { name, type: c.type, precision: c.precision, scale: c.scale ?? 0 });

/** `spell(p, s)` for a declared decimal, else the type's own spelling. */
export const withDigits = (c: Omit<TypedColumn, 'name'>, plain: (type: ColumnType) => string, spell: (p: number, s: number) => string): string =>
  (c.type === 'decimal' && c.precision !== undefined ? spell(c.precision, c.scale ?? 0) : plain(c.type));

export interface Column {
  /** Name as it arrives from the source. */
  name: string;
  type: ColumnType;
  /** A declared `decimal(p,s)`: at most `precision` digits, `scale` of them after the point. */
  precision?: number;
  scale?: number;
  nullable: boolean;
  /** Name in the destination (differs when the destination folds case or truncates identifiers). */
  target?: string;
  /** True when the user declared the type; declared types are contracts and never widen. */
  declared?: boolean;
}

export interface Schema {
  columns: Column[];
}

/** Where a row came from, so a dead-lettered row can be found again. */
export interface SourcePosition {
  file?: string;
  line?: number;
  page?: number;
  offset?: number;
  url?: string;
}

export type RejectStage = 'parse' | 'transform' | 'check' | 'schema' | 'load';

export interface RejectedRow {
  stage: RejectStage;
  reason: string;
  /** The raw payload exactly as read (a CSV line, a JSON text) or the row as JSON. */
  raw: string;
  position: SourcePosition;
}

/**
 * The per-stream state document. It is versioned and committed together with the rows it describes.
 * `cursor` is the high-water mark of the cursor column; `files` tracks file sources; `connector` is free-form.
 */
export interface StreamState {
  version: number;
  cursor?: { column: string; value: string | number | null };
  files?: Record<string, FileProgress>;
  /** Column mapping and types the destination table was created with (stable across runs). */
  schema?: Schema;
  connector?: Record<string, unknown>;
  /** An append stream with `lookback`: [cursor, hash] of the rows loaded near the watermark (engine/seen-rows.ts). */
  seen?: [string | number, string][];
  /**
   * The run that made this commit and its counts as of it: a task of the same run taken over by another worker goes on
   * counting from here, so the run reports the stream's rows once, whichever worker loaded them.
   */
  run?: { id: string; counts: StreamCounts; steps?: StepCounts[] };
  /**
   * A slice's state folded into its stream's (src/engine/slices.ts): kept as the slice's newest version so a task of
   * that slice begun before the fold (its run's dispatcher died) finds its next version taken and commits nothing.
   */
  folded?: boolean;
}

export interface FileProgress {
  size: number;
  mtimeMs: number;
  /** An object of an S3 bucket: its ETag, which with the size says whether it changed (its mtime says nothing). */
  etag?: string;
  /** Records of this file already committed (header excluded). */
  records: number;
  done: boolean;
}

/**
 * A batch of rows pulled from a source, with the checkpoint the source reached after producing it. Rows come as
 * objects (`rows`) or, from a source that knows its columns up front (a CSV header), as arrays aligned with
 * `columns` (`values`): building an object per row only to take it apart again by name costs more than parsing it.
 * A batch carries one form or the other, never both; `batchLength` and `rowAt` read either.
 */
export interface Batch {
  /** Rows as objects keyed by column name; empty when the batch carries `values`. */
  rows: Row[];
  /** Names of the `values` columns, in order. */
  columns?: readonly string[];
  /** Rows as arrays aligned with `columns`, instead of `rows`. */
  values?: unknown[][];
  /** Rows the source could not parse; they go to the dead-letter queue. */
  rejected?: RejectedRow[];
  /**
   * Where row `i` came from, when the source knows (for DLQ entries of later stages). Computed on demand: a position
   * object per row would be built for every row and needed for almost none.
   */
  positionOf?(i: number): SourcePosition;
  /** State after this batch. When a batch carries one, everything up to it may be committed. */
  checkpoint?: StreamState;
  /** Commit now, whatever `checkpoint_rows` says: a streaming source's micro-batch (needs a `checkpoint`). */
  flush?: boolean;
  /**
   * The source vouches that values of the columns it typed in `columns()` are already in their canonical forms
   * (core/values/coerce.ts), as a database catalog and the driver's type parsers give them: the engine then checks only
   * each value's JS type, not its text. Only for `values` batches.
   */
  canonical?: boolean;
  /**
   * Instead of rows (the batch has none): a whole file offered to the load's own reader (RunContext.handOff). The
   * source goes on after the yield: it marks the file read when `taken` is set, and parses it itself otherwise.
   */
  handOff?: FileHandOff;
}

/** A file a source offers a destination's reader, with what the source's own parser made of its first records. */
export interface FileHandOff {
  /** The source type: `csv`. */
  format: string;
  /** Absolute path. */
  path: string;
  /** The stream's options as the source parsed them (delimiter, quote, header, compression, …). */
  options: Readonly<Record<string, unknown>>;
  /** Whether the file is gzip-compressed (by name or by its magic bytes). */
  gzip: boolean;
  /** Column names in file order, as the source names them (header, `column_names`, duplicates suffixed). */
  columns: readonly string[];
  /** Where the file itself types its columns (Parquet): each column's type as DuckDB reads it, aligned with `columns`. */
  types?: readonly string[];
  /** The first records as the source parsed them, aligned with `columns`: what types are inferred from. */
  head: unknown[][];
  /** Set by the engine when the load read the file: its records. */
  taken?: number;
}

/** Rows in a batch, whichever form it carries them in. */
export const batchLength = (b: Batch): number => (b.values ? b.values.length : b.rows.length);

/** Row `i` of a batch as an object (the form the DLQ keeps and transforms see). */
export function rowAt(b: Batch, i: number): Row {
  if (!b.values) return b.rows[i];
  const values = b.values[i];
  // fromEntries defines properties, so a column named `__proto__` stays an ordinary key.
  return Object.fromEntries(b.columns!.map((c, k) => [c, values[k]]));
}

/** Counts that always add up: extracted = loaded + dead_lettered + filtered. */
export interface StreamCounts {
  extracted: number;
  loaded: number;
  dead_lettered: number;
  filtered: number;
  inserted: number;
  updated: number;
  deleted: number;
}

export const emptyCounts = (): StreamCounts => ({
  extracted: 0, loaded: 0, dead_lettered: 0, filtered: 0, inserted: 0, updated: 0, deleted: 0,
});

/**
 * What one transform step of a stream did over a run (measured by the chain, src/transforms/chain.ts; kept in the
 * control store and the run summary). For each step `records_in = records_out + failed + filtered`, except for a step
 * that makes rows (a user function returning more rows than it was given).
 */
export interface StepCounts {
  /** Position in the stream's list of steps, from 0: two steps of one kind are told apart by it. */
  step: number;
  /** The step's kind, as the pipeline file names it (`cast`, `filter`, …). */
  name: string;
  /** Rows handed to the step. */
  records_in: number;
  /**
   * Rows it passed on to the next step (or the checks): a blocking step's (aggregate, keep-last dedupe) at the end of
   * the stream; for flatten, the parent rows (its child rows go to the child tables).
   */
  records_out: number;
  /** Rows it sent to the dead-letter queue. */
  failed: number;
  /** Rows it took out of the stream on purpose (a filter, a dedupe, rows an aggregate folded): not failures. */
  filtered: number;
  /** Time spent in the step, summed over batches. */
  duration_ms: number;
}

export const PHASES = ['extract', 'transform', 'validate', 'merge', 'load', 'publish'] as const;
export type Phase = (typeof PHASES)[number];
export type Status = 'running' | 'success' | 'partial_success' | 'failed' | 'skipped';
