// How far a stream's source has written past what the stream has applied: sampled by `sluice serve` (on a timer, not
// when /metrics is scraped) for its metrics and alerts.
// - PostgreSQL: the stream's slot (`sluice_<sync>_<side>`, ./pg-changes.ts) in pg_replication_slots: the bytes of WAL
//   written since its confirmed position (what is not applied yet), the bytes the server keeps for it since its restart
//   position (what a stalled or abandoned slot costs the disk), and whether that WAL is still safe (`wal_status`,
//   `safe_wal_size` under max_slot_wal_keep_size: a slot past it is lost, and the sync must be resnapshotted).
// - MariaDB: there is no slot; the bytes of binary log between the position the stream kept and the server's current one.
import type pg from 'pg';
import type { Pool } from 'mysql2/promise';
import { createMysqlPool, mysqlError } from '../../connectors/mysql/mysql-connection.js';
import { createPool, pgError } from '../../connectors/postgres/postgres-connection.js';
import type { SourceLag } from '../../observe/sync-status.js';
import { parseBinlogPosition, type Position } from './mysql-changes.js';
import { slotName } from './pg-changes.js';

/** Bytes of binary log from `from` to `to`, given each file's size (files are numbered, so their names sort). */
export function binlogBytes(from: Position, to: Position, sizes: ReadonlyMap<string, number>): number {
  if (from.file === to.file) return Math.max(0, to.offset - from.offset);
  if (from.file > to.file) return 0;
  let bytes = Math.max(0, (sizes.get(from.file) ?? from.offset) - from.offset) + to.offset;
  for (const [file, size] of sizes) if (file > from.file && file < to.file) bytes += size;
  return bytes;
}

/** One side's lag, read over a connection of its own (one, kept between samples). */
export interface LagProbe {
  /** `position`: where the stream stands (MariaDB; a PostgreSQL slot knows its own). Undefined: nothing to say yet. */
  sample(position?: string): Promise<SourceLag | undefined>;
  close(): Promise<void>;
}

export function lagProbe(type: string, config: Record<string, unknown>, baseDir: string, sync: string, side: 'a' | 'b'): LagProbe | undefined {
  if (type === 'postgres') return new PgSlotLag(createPool({ ...config, pool_size: 1 }, baseDir), slotName(sync, side));
  if (type === 'mysql') return new BinlogLag(createMysqlPool({ ...config, pool_size: 1 }, baseDir));
  return undefined;
}

class PgSlotLag implements LagProbe {
  constructor(private readonly pool: pg.Pool, private readonly slot: string) {}

  async sample(): Promise<SourceLag | undefined> {
    let rows;
    try {
      ({ rows } = await this.pool.query<{ lag: number | null; retained: number | null; wal_status: string | null; safe: number | null }>(
        `SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::float8 AS lag,
           pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::float8 AS retained, wal_status, safe_wal_size::float8 AS safe
         FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()`, [this.slot]));
    } catch (e) {
      throw pgError(e, `reading the lag of the replication slot ${this.slot}`);
    }
    const r = rows[0];
    // No slot (not made yet, or dropped): nothing to measure.
    if (!r || r.lag === null) return undefined;
    return {
      lagBytes: Math.max(0, r.lag), ...(r.retained !== null ? { retainedBytes: Math.max(0, r.retained) } : {}),
      ...(r.wal_status ? { walStatus: r.wal_status } : {}), ...(r.safe !== null ? { safeWalSize: r.safe } : {}),
    };
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}

class BinlogLag implements LagProbe {
  constructor(private readonly pool: Pool) {}

  async sample(position?: string): Promise<SourceLag | undefined> {
    if (position === undefined) return undefined;
    try {
      const [logs] = await this.pool.query('SHOW BINARY LOGS') as unknown as [{ Log_name: string; File_size: number | string }[]];
      const [[now]] = await this.pool.query('SHOW MASTER STATUS') as unknown as [{ File: string; Position: number | string }[]];
      if (!now) return undefined;
      const sizes = new Map(logs.map((l) => [l.Log_name, Number(l.File_size)]));
      return { lagBytes: binlogBytes(parseBinlogPosition(position), { file: now.File, offset: Number(now.Position) }, sizes) };
    } catch (e) {
      throw mysqlError(e, 'reading the binary log position');
    }
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
