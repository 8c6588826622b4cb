// One system of a sync: a table's columns, its rows streamed in key order — integers by value, text keys by their
// bytes (PostgreSQL's "C" collation, MySQL's utf8mb4_bin, SQLite's BINARY), so that both sides arrive in the same
// order and can be compared as they come, with bounded memory — and a transaction writing rows into it. Values come
// as the drivers give them, PostgreSQL's as its text output; ./values.ts makes them comparable, ./write-values.ts
// writable into the other engine. One file per engine in ./sides/.

export interface SideColumn {
  name: string;
  /** Compared as text in ORDER BY (a collation applies). */
  text: boolean;
  /** The declared type, lower case (`timestamp with time zone`, `tinyint(1)`, `INTEGER` → `integer`). */
  type: string;
}

export interface Side {
  readonly type: 'postgres' | 'mysql' | 'sqlite';
  /** The table's columns in order; empty when it does not exist. */
  columns(table: string): Promise<SideColumn[]>;
  /** Rows of `columns` in the order of `key` (a subset of them), in pages. */
  scan(table: string, columns: SideColumn[], key: SideColumn[]): AsyncIterable<unknown[][]>;
  /** A transaction writing rows of `table` (values in the order of `columns`, key first): nothing shows before commit. */
  writer(table: string, columns: SideColumn[], key: SideColumn[]): Promise<SideWriter>;
  close(): Promise<void>;
}

export interface SideWriter {
  /** Updates the rows with these keys, inserts the others. */
  upsert(rows: unknown[][]): Promise<void>;
  /** Deletes the rows with these keys. */
  remove(keys: unknown[][]): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

/** Rows per page read, and changes per statement written. */
export const PAGE = 5000;
export const WRITE_BATCH = 1000;
export const TEXT_TYPES = /char|text|uuid|enum|set/i;

/** Commit or roll back once, then let the connection go. */
export function ender(run: (sql: string) => Promise<unknown>, release: () => void): (how: 'COMMIT' | 'ROLLBACK') => Promise<void> {
  let open = true;
  return async (how) => {
    if (!open) return;
    open = false;
    try {
      await run(how);
    } finally {
      release();
    }
  };
}
