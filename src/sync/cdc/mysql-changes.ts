// The changes of a MariaDB/MySQL side, read from its binary log in row format through @vlasky/zongji (chosen over
// zongji, unmaintained since 2021, and @powersync/mysql-zongji, a MySQL 8 fork on the old mysql driver: it is on
// mysql2 — Sluice's driver, so values decode with the same settings as a query's — it decodes MariaDB's GTID and
// compressed events, and reads column names from the log itself with binlog_row_metadata=FULL).
//
// - At open: the server's settings are checked and a run refused with what to change (log_bin, binlog_format=ROW,
//   binlog_row_image=FULL). A position is a binlog file and offset (`mysql-bin.000003:4711`); one whose file the
//   server no longer has (purged) is refused with the way back (`--resnapshot`): never silent loss.
// - A stream with no position starts from a consistent snapshot (START TRANSACTION WITH CONSISTENT SNAPSHOT) and the
//   binlog position it stands at (MariaDB's binlog_snapshot_file/position), so no change is missed or read twice.
// - There is no slot to acknowledge: the position kept with the rows on the other side is where the next run reads
//   from. Heartbeats keep that position moving while the sync's tables are idle, so it does not fall behind purges.
// - The sync's own writes into this side (tagged, ../positions.ts) are passed by, whole transactions at a time.
import ZongJi from '@vlasky/zongji';
import type { Pool } from 'mysql2/promise';
import { createMysqlPool, mysqlError, mysqlOptions } from '../../connectors/mysql/mysql-connection.js';
import { splitQualified } from '../../connectors/sql/qualified-name.js';
import { ConfigError, RunError } from '../../core/errors.js';
import { POSITIONS } from '../side.js';
import { mysqlSide } from '../sides/mysql-side.js';
import { QueuedReader, type ChangeReader, type ReaderOptions, type Snapshot } from './change-queue.js';

type Row = Record<string, unknown>;
export interface Position { file: string; offset: number }

/** A position's text (`mysql-bin.000003:4711`) as its file and offset. */
export const parseBinlogPosition = (p: string): Position => {
  const i = p.lastIndexOf(':');
  return { file: p.slice(0, i), offset: Number(p.slice(i + 1)) };
};
const text = (p: Position): string => `${p.file}:${p.offset}`;
/** Binlog files are numbered: `name.000012` after `name.000009`. */
const compare = (x: Position, y: Position): number => (x.file === y.file ? x.offset - y.offset : x.file < y.file ? -1 : 1);

export class MysqlChanges extends QueuedReader implements ChangeReader {
  private readonly pool: Pool;
  private zongji?: ZongJi;
  private readonly byName: Map<string, ReaderOptions['tables'][number]>;
  private database = '';
  private skipping = false;
  /** Whether the transaction being read changed one of the sync's tables. */
  private changed = false;
  private last?: Position;
  private kept?: Position;
  private target?: Position;
  private heartbeat?: NodeJS.Timeout;

  private constructor(private readonly o: ReaderOptions) {
    super();
    this.pool = createMysqlPool({ ...o.config, pool_size: 2 }, o.baseDir);
    this.byName = new Map();
  }

  static async open(o: ReaderOptions): Promise<{ reader: MysqlChanges; snapshot?: Snapshot }> {
    const reader = new MysqlChanges(o);
    return reader.opened(() => reader.prepare());
  }

  private async prepare(): Promise<{ reader: MysqlChanges; snapshot?: Snapshot }> {
    const side = `side ${this.o.side}`;
    const [[s]] = await this.query<{ log_bin: number; format: string; image: string; db: string | null }>(
      'SELECT @@log_bin AS log_bin, @@binlog_format AS format, @@binlog_row_image AS image, DATABASE() AS db');
    const refuse = (what: string, expected: string) => new ConfigError(`mode: cdc reads ${side}'s binary log, and ${what}`, { path: `systems.${this.o.side}`, expected });
    if (Number(s.log_bin) !== 1) throw refuse('its server has it off: start it with log_bin (and binlog_format=ROW, binlog_row_image=FULL)', 'log_bin = ON');
    if (s.format !== 'ROW') throw refuse(`its server logs binlog_format=${s.format}: set binlog_format=ROW`, 'binlog_format = ROW');
    if (s.image !== 'FULL') throw refuse(`its server logs binlog_row_image=${s.image}: set binlog_row_image=FULL`, 'binlog_row_image = FULL');
    this.database = s.db ?? '';
    for (const t of this.o.tables) {
      const parts = splitQualified(t.name);
      this.byName.set(parts.length > 1 ? parts.join('.') : `${this.database}.${t.name}`, t);
    }
    if (this.o.from !== undefined) {
      const logs = (await this.query<{ Log_name: string }>('SHOW BINARY LOGS'))[0].map((r) => r.Log_name);
      const from = parseBinlogPosition(this.o.from);
      if (!logs.includes(from.file)) {
        throw new RunError(`${side}'s binary log ${from.file} is gone (purged): the changes since ${this.o.from} cannot be read; `
          + `run \`sluice sync <file> --resnapshot\` to copy the tables of ${side} again and stream from there`);
      }
      return { reader: this };
    }
    // The snapshot and the binlog position it stands at, on one connection kept until the copy is done.
    const conn = await this.pool.getConnection();
    try {
      await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      const [status] = await conn.query("SHOW STATUS LIKE 'binlog_snapshot_%'") as unknown as [{ Variable_name: string; Value: string }[]];
      const v = Object.fromEntries(status.map((r) => [r.Variable_name.toLowerCase(), r.Value]));
      if (!v.binlog_snapshot_file) throw new RunError(`${side}: the server gives no binlog position for a consistent snapshot (MariaDB does; MySQL is not supported yet)`);
      const at = text({ file: v.binlog_snapshot_file, offset: Number(v.binlog_snapshot_position) });
      return {
        reader: this,
        snapshot: { at, side: () => mysqlSide(this.o.config, this.o.baseDir, { snapshot: conn }), close: async () => conn.release() },
      };
    } catch (e) {
      conn.release();
      throw mysqlError(e, `${side}: taking a snapshot`);
    }
  }

  async start(from: string): Promise<void> {
    this.last = parseBinlogPosition(from);
    this.kept = this.last;
    const include: Record<string, string[]> = {};
    for (const name of [...this.byName.keys(), `${this.database}.${POSITIONS}`]) {
      const [db, table] = [name.slice(0, name.indexOf('.')), name.slice(name.indexOf('.') + 1)];
      (include[db] ??= []).push(table);
    }
    const zongji = new ZongJi(mysqlOptions(this.o.config, this.o.baseDir));
    this.zongji = zongji;
    zongji.on('binlog', (e) => this.onEvent(e as unknown as BinlogEvent));
    zongji.on('error', (e) => this.queue.end(this.stopping ? undefined : mysqlError(e, `streaming the changes of side ${this.o.side}`)));
    await new Promise<void>((ready, fail) => {
      zongji.once('ready', () => ready());
      zongji.once('error', fail);
      zongji.start({
        // A replica's id: unique per connection reading the log.
        serverId: 1_000_000 + Math.floor(Math.random() * 1_000_000_000),
        filename: this.last!.file, position: this.last!.offset,
        // Every event: the last position read is where a catch-up is measured, whatever event ends the log.
        includeSchema: include,
      });
    });
    this.heartbeat = setInterval(() => this.beat(), this.o.heartbeatMs);
  }

  /** Everything in the log now: the stream is caught up when it has read to here. */
  async catchUp(): Promise<void> {
    const [[s]] = await this.query<{ File: string; Position: number }>('SHOW MASTER STATUS');
    this.target = { file: s.File, offset: Number(s.Position) };
    this.beat();
  }

  /** No slot on the server: what the other side keeps is the position. */
  ack(): void {}

  protected pause(): void {
    this.zongji?.connection?.pause();
  }

  protected resume(): void {
    this.zongji?.connection?.resume();
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.stopping = true;
    this.zongji?.stop();
    this.queue.end();
    await this.pool.end().catch(() => undefined);
  }

  /** Between transactions: the position read to is kept (idle tables), and a catch-up reached is said. */
  private beat(): void {
    if (this.inTransaction || !this.last) return;
    if (this.kept && compare(this.last, this.kept) > 0) {
      this.kept = this.last;
      this.queue.push({ kind: 'heartbeat', position: text(this.last) });
    }
    if (this.target && compare(this.last, this.target) >= 0) {
      this.target = undefined;
      this.queue.push({ kind: 'caught-up' });
    }
  }

  private onEvent(e: BinlogEvent): void {
    const name = e.getEventName();
    // A transaction starts (MariaDB: a GTID event, unless it stands alone — DDL — and MySQL: BEGIN).
    if ((name === 'mariadbgtid' && !e.standalone) || (name === 'query' && e.query === 'BEGIN')) {
      this.inTransaction = true;
      this.skipping = false;
      this.changed = false;
      return;
    }
    if (name === 'xid' || (name === 'query' && e.query === 'COMMIT')) {
      this.inTransaction = false;
      this.last = { file: this.zongji!.options.filename!, offset: this.zongji!.options.position! };
      // A transaction with a change of the sync's tables is one to apply; any other only moves the position read to.
      if (!this.skipping && this.changed) {
        this.kept = this.last;
        this.queue.push({ kind: 'commit', position: text(this.last), ...(e.timestamp ? { at: new Date(e.timestamp) } : {}) });
      }
      this.skipping = false;
      if (this.stopping) this.queue.end();
      else this.beat();
      return;
    }
    if (name !== 'writerows' && name !== 'updaterows' && name !== 'deleterows') {
      // Anything else outside a transaction (DDL, a new file's first events): the log is read to here.
      if (!this.inTransaction && this.zongji!.options.position) {
        this.last = { file: this.zongji!.options.filename!, offset: this.zongji!.options.position };
        this.beat();
      }
      return;
    }
    if (this.skipping) return;
    const map = e.tableMap[e.tableId];
    const qualified = `${map.parentSchema}.${map.tableName}`;
    if (map.tableName === POSITIONS) {
      const rows = (name === 'updaterows' ? (e.rows as { after: Row }[]).map((r) => r.after) : e.rows as Row[]);
      // The sync's own write into this side: not sent back (no echo loop).
      if (name !== 'deleterows' && rows.some((r) => r.sync === this.o.sync)) this.skipping = true;
      return;
    }
    const t = this.byName.get(qualified);
    if (!t) return;
    this.changed = true;
    const pick = (r: Row, cols: string[]) => cols.map((c) => value(r[c]));
    if (name === 'writerows') {
      for (const r of e.rows as Row[]) this.queue.push({ kind: 'change', table: t.name, op: 'upsert', row: pick(r, t.columns), insert: true });
    } else if (name === 'updaterows') {
      for (const r of e.rows as { before: Row; after: Row }[]) {
        this.queue.push({ kind: 'change', table: t.name, op: 'upsert', row: pick(r.after, t.columns), old: pick(r.before, t.columns) });
      }
    } else {
      for (const r of e.rows as Row[]) {
        this.queue.push({ kind: 'change', table: t.name, op: 'remove', row: pick(r, t.columns.slice(0, t.keyParts)), old: pick(r, t.columns) });
      }
    }
  }

  private async query<R>(sql: string): Promise<[R[]]> {
    try {
      const [rows] = await this.pool.query(sql);
      return [rows as R[]];
    } catch (e) {
      throw mysqlError(e, `side ${this.o.side}`);
    }
  }
}

/** What zongji's events hold, as far as this reader reads them. */
interface BinlogEvent {
  getEventName(): string;
  /** When the event was written (ms since the epoch, to the second). */
  timestamp?: number;
  query?: string;
  /** MariaDB's GTID event: the group is one statement (DDL), not a transaction. */
  standalone?: boolean;
  tableId: number;
  tableMap: Record<number, { parentSchema: string; tableName: string }>;
  rows: unknown[];
}

/** A binlog value as a query gives it (the same mysql2 settings), but JSON documents, which zongji parses. */
const value = (v: unknown): unknown => (v !== null && typeof v === 'object' && !(v instanceof Buffer) && !(v instanceof Date) ? JSON.stringify(v) : v);

