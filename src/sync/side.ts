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
  transaction(mark?: SyncMark, o?: TransactionOptions): Promise<SideTransaction>;
  /** The position a stream last committed with `mark` (undefined: none yet). */
  position(mark: SyncMark): Promise<string | undefined>;
  /** Checksums of key ranges and (key, row hash) reads, computed on the side's server (../range-checksum.ts). */
  ranges(table: string, shape: HashShape): RangeReader;
  close(): Promise<void>;
}

/**
 * A table as key ranges see it: ranges of its key's first column (`key`), the others of a composite key (`rest`) read
 * and ordered by beside it; `hashed`, the columns in each row's hash (the key first), each
 * spelled by the side so that stringText of the spelling is syncText of the value as its driver gives it (values.ts):
 * two sides' spellings equal means their values are. `carried`: columns no spelling can make agree across the two
 * engines, read beside the hash and compared as values.
 */
export interface HashShape {
  key: SideColumn;
  rest: SideColumn[];
  hashed: SideColumn[];
  carried: SideColumn[];
  /** The other side's engine: two of the same may hash their own spellings their own way. */
  peer: Side['type'];
}

/**
 * Buckets of a key range [lo, hi) (an open side unbounded): by `width` from `lo` for an integer key (lo and hi are then
 * bigints), else between `bounds` (keys sampled in key order): bucket i holds the keys from bound i-1 to bound i.
 */
export interface Buckets { lo?: unknown; hi?: unknown; width?: bigint; bounds?: unknown[] }

/** A bucket's rows and the sum of their hashes (decimal text). */
export interface BucketSum { bucket: number; count: number; sum: string }

export interface RangeReader {
  /** The rows, and the smallest and largest key as decimal text (an integer key; null when empty). */
  extent(integer: boolean): Promise<{ count: number; min: string | null; max: string | null }>;
  /** Rows and hash sum per bucket (buckets with no rows left out). */
  sums(b: Buckets): Promise<BucketSum[]>;
  /** Key, row hash (15 hex digits), carried values: of the range, or of the buckets `ids` (ascending); in key order. */
  hashes(b: Buckets, ids?: number[]): AsyncIterable<unknown[][]>;
  /** Every `every`-th key of [lo, hi) in key order, at most `most`. */
  sample(lo: unknown, hi: unknown, every: number, most: number): Promise<unknown[]>;
  /** Rows of `columns` with these keys, in any order (keys equal under the column's collation may come too). */
  rows(columns: SideColumn[], keys: unknown[]): Promise<unknown[][]>;
}

/**
 * `defer`: writes may wait to go with the next statement sent — a read, or the commit — where the engine takes several
 * statements at once (PostgreSQL's simple queries): a stream's small transaction is then one round trip, BEGIN to
 * COMMIT. Only for transactions of bounded size (what waits is held in memory).
 */
export interface TransactionOptions { defer?: boolean }

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
  /** With `defer`: queues a statement to go before the next one sent. */
  later?(sql: string): void;
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
    if (p.later && p.inline) p.later(tag ? `${p.begin}; ${p.inline(...tag)}` : p.begin);
    else if (tag && p.inline) await p.run(`${p.begin}; ${p.inline(...tag)}`);
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
