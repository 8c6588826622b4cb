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
  /**
   * A transaction writing into the side: nothing shows before commit. With a `mark`, its first write is the sync's row
   * in the side's position table (POSITIONS): a CDC reader of this side knows the transaction as the sync's own and
   * passes it by (no echo), and `commit(position)` keeps the stream's position with the rows it covers.
   */
  transaction(mark?: SyncMark): Promise<SideTransaction>;
  /** The position a stream last committed with `mark` (undefined: none yet). */
  position(mark: SyncMark): Promise<string | undefined>;
  close(): Promise<void>;
}

/** A sync's stream of changes into a side: `stream` names where they come from (`a`, `b`, `hash`). */
export interface SyncMark { sync: string; stream: string }

export interface SideTransaction {
  /** Writes rows of `table` (values in the order of `columns`, key first). */
  table(table: string, columns: SideColumn[], key: SideColumn[]): Promise<TableWriter>;
  /** Commits, keeping `position` as the mark's (when given) in the same transaction. */
  commit(position?: string): Promise<void>;
  rollback(): Promise<void>;
}

export interface TableWriter {
  /** Updates the rows with these keys, inserts the others. */
  upsert(rows: unknown[][]): Promise<void>;
  /** Deletes the rows with these keys. */
  remove(keys: unknown[][]): Promise<void>;
  /** The rows there now with these keys (in any order), locked until the transaction ends: a guarded write reads first. */
  read(keys: unknown[][]): Promise<unknown[][]>;
}

/** The table of marks and positions, created on a side when a sync first marks a write into it. */
export const POSITIONS = 'sluice_sync_position';

/** Rows per page read, and changes per statement written. */
export const PAGE = 5000;
export const WRITE_BATCH = 1000;
export const TEXT_TYPES = /char|text|uuid|enum|set/i;

/** What a side's transaction is made of: the engine's statements, its writer per table, the position table's SQL. */
export interface TransactionParts {
  run(sql: string, values?: unknown[]): Promise<unknown>;
  /** Lets the connection go (after COMMIT or ROLLBACK). */
  release(): void;
  begin: string;
  table: SideTransaction['table'];
  /** The position table's statements (./positions.ts), needed with a mark. */
  positions: PositionSql;
  /** Creates the position table when it is not there (before BEGIN: MySQL commits around DDL). */
  ensurePositions(): Promise<void>;
  /**
   * A statement with its values written in as literals, where the engine runs several statements sent at once
   * (PostgreSQL's simple queries): the mark goes with BEGIN, the position with COMMIT — two round trips fewer per
   * transaction, which is most of a stream's latency.
   */
  inline?(sql: string, values: unknown[]): string;
}

/** Parameters: tag (sync, stream); keep (position, sync, stream); read (sync, stream). */
export interface PositionSql { create: string; tag: string; keep: string; read: string }

/** BEGIN, the mark as the first write, and the position kept just before COMMIT; the connection let go once, at the end. */
export async function openTransaction(p: TransactionParts, mark?: SyncMark): Promise<SideTransaction> {
  let open = true;
  const end = async (how: 'COMMIT' | 'ROLLBACK') => {
    if (!open) return;
    open = false;
    try {
      await p.run(how);
    } finally {
      p.release();
    }
  };
  try {
    if (mark) await p.ensurePositions();
    const tag: [string, unknown[]] | undefined = mark && [p.positions.tag, [mark.sync, mark.stream]];
    if (tag && p.inline) await p.run(`${p.begin}; ${p.inline(...tag)}`);
    else {
      await p.run(p.begin);
      if (tag) await p.run(...tag);
    }
  } catch (e) {
    await end('ROLLBACK').catch(() => undefined);
    throw e;
  }
  return {
    table: p.table,
    async commit(position) {
      const keep: [string, unknown[]] | undefined = mark && position !== undefined ? [p.positions.keep, [position, mark.sync, mark.stream]] : undefined;
      if (keep && p.inline && open) {
        try {
          await p.run(`${p.inline(...keep)}; COMMIT`);
        } catch (e) {
          await end('ROLLBACK').catch(() => undefined);
          throw e;
        }
        open = false;
        p.release();
        return;
      }
      try {
        if (keep) await p.run(...keep);
      } catch (e) {
        await end('ROLLBACK').catch(() => undefined);
        throw e;
      }
      await end('COMMIT');
    },
    rollback: () => end('ROLLBACK'),
  };
}
