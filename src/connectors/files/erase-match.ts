// What `sluice erase` looks for in a files-destination table's parts, and what each format's eraser does with a part
// (erase-parquet.ts, erase-text.ts; erase-parts.ts runs them over the table). Two passes, as the SQL destinations do
// in one statement each: first the keys of the rows holding the value, then every row holding the value or one of
// those keys (an earlier version of the subject under another value) — counted, or cut out of a rewritten copy.
import type { ManifestFile } from './manifest.js';

export interface SubjectMatch {
  /** Column holding the value: in the files, or a partition column (then whole parts match). */
  column: string;
  values: readonly unknown[];
  /** Key columns; empty: only the rows holding the value. */
  key: readonly string[];
  /** Blank these columns in the subject's rows instead of dropping the rows. */
  anonymise?: readonly string[];
}

export interface PartErasure {
  /** The subject's rows in the part. */
  matched: number;
  /** Rows the rewritten part holds (0: the part goes whole). */
  kept: number;
}

export interface PartEraser {
  /** First pass: remember the keys of the part's rows holding the value. */
  collect(file: string, part: ManifestFile): Promise<void>;
  /** The keys remembered, each once, as the files hold them. */
  keys(): Promise<unknown[][]>;
  /** Second pass: count the subject's rows in the part and, given `out`, write the part without them there. */
  erase(file: string, part: ManifestFile, out?: string): Promise<PartErasure>;
  close(): Promise<void>;
}

/** The part holds the column: in the file, or as one of its partition values. */
export const partHas = (part: ManifestFile, column: string): boolean =>
  part.columns.some((c) => c.name === column) || (part.partition !== undefined && column in part.partition);
