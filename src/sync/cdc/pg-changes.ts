// The changes of a PostgreSQL side, read from its write-ahead log through a logical replication slot (pgoutput) and a
// publication of the sync's tables, both named after the sync and the side (`sluice_<sync>_<side>`).
//
// - At open: the server's settings are checked and a run refused with what to change (wal_level, the REPLICATION
//   right, a replica identity on every table); then the slot is found, or — when the other side holds no position for
//   this stream yet — created with an exported snapshot: the caller copies the tables in that snapshot and streaming
//   starts at the slot's consistent point, so no change is missed and none is read twice.
// - A stored position the slot has moved past (the slot dropped and made again, or advanced by hand) means changes were
//   lost to this sync: refused, with the way back (`--resnapshot`).
// - Transactions committed at or before the stored position are passed by (the server resends what it was not told
//   was applied), and so are the sync's own writes into this side (tagged: ../positions.ts).
// - Heartbeats: every `heartbeatMs` the server is asked for its position; when nothing is pending the caller keeps it
//   as the stream's position and acknowledges it, so the slot of an idle database keeps up and its WAL is freed.
import type pg from 'pg';
import { createPool, poolConfig, pgError } from '../../connectors/postgres/postgres-connection.js';
import { schemaAndName } from '../../connectors/sql/qualified-name.js';
import { ConfigError, RunError } from '../../core/errors.js';
import { POSITIONS } from '../side.js';
import { postgresSide } from '../sides/postgres-side.js';
import { QueuedReader, type ChangeReader, type ReaderOptions, type ReaderTable, type Snapshot } from './change-queue.js';
import { lsnText, parseLsn, UNCHANGED, type PgMessage, type Relation, type Tuple } from './pgoutput.js';
import { ReplicationConnection } from './pg-replication.js';

/** How long a slot held by another connection may take to be let go before the sync refuses to start. */
const SLOT_RELEASE_MS = 10_000;

/** Slot and publication names: lower case letters, digits and `_`, at most 63 bytes. */
export const slotName = (sync: string, side: string): string => `sluice_${sync}_${side}`.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 63);

interface Mapped { table: ReaderTable; order: number[]; keyOrder: number[] }

export class PgChanges extends QueuedReader implements ChangeReader {
  private replication?: ReplicationConnection;
  private readonly relations = new Map<number, Mapped | null | undefined>();
  private skipping = false;
  /** Whether the transaction being read changed one of the sync's tables. */
  private changed = false;
  private commitLsn = 0n;
  /** When the transaction being read committed on the source (its begin message says). */
  private commitTime?: Date;
  /** The server's position from its last keepalive. */
  private walEnd = 0n;
  private acked = 0n;
  private heartbeat?: NodeJS.Timeout;
  private onceMarker?: string;
  private readonly byName: Map<string, ReaderTable>;
  readonly slot: string;

  private readonly pool: pg.Pool;

  private constructor(private readonly o: ReaderOptions, private readonly schema: string) {
    super();
    this.pool = createPool({ ...o.config, pool_size: 1 }, o.baseDir);
    this.slot = slotName(o.sync, o.side);
    this.byName = new Map(o.tables.map((t) => [schemaAndName(t.name, schema).join('.'), t]));
  }

  /** Checks the server, makes the publication and finds or creates the slot. `snapshot`: the slot is new. */
  static async open(o: ReaderOptions): Promise<{ reader: PgChanges; snapshot?: Snapshot }> {
    const schema = String(o.config.schema ?? 'public');
    const reader = new PgChanges(o, schema);
    return reader.opened(() => reader.prepare());
  }

  private async prepare(): Promise<{ reader: PgChanges; snapshot?: Snapshot }> {
    const o = this.o;
    await this.check();
    await this.publish();
    const readSlot = () => this.query<{ confirmed: string; active: boolean }>(
      'SELECT confirmed_flush_lsn::text AS confirmed, active FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database()', [this.slot]);
    let slot = await readSlot();
    // A sync restarted right after a crash finds its slot still held by the dead process's walsender until the server
    // notices the connection is gone (a moment, longer on a busy server): wait for that before calling it in use.
    for (let waited = 0; slot[0]?.active && waited < SLOT_RELEASE_MS; waited += 250) {
      await new Promise((r) => setTimeout(r, 250));
      slot = await readSlot();
    }
    if (o.from !== undefined) {
      const back = `run \`sluice sync <file> --resnapshot\` to copy the tables of side ${o.side} again and stream from there`;
      if (!slot.length) throw new RunError(`the replication slot ${this.slot} of side ${o.side} is gone: the changes since ${o.from} cannot be read; ${back}`);
      if (slot[0].active) throw new RunError(`the replication slot ${this.slot} of side ${o.side} is in use: another sync of this file is running`);
      if (parseLsn(slot[0].confirmed) > parseLsn(o.from)) {
        throw new RunError(`the replication slot ${this.slot} of side ${o.side} is at ${slot[0].confirmed}, past this sync's position ${o.from}: changes in between were lost to it; ${back}`);
      }
      return { reader: this };
    }
    if (slot.length) await this.query('SELECT pg_drop_replication_slot($1)', [this.slot]);
    const replication = await ReplicationConnection.open(this.clientConfig());
    try {
      const created = await replication.createSlot(this.slot);
      // The snapshot lives while the connection that exported it stays idle: it is closed once the copy is done.
      return {
        reader: this,
        snapshot: { at: created.consistentPoint, side: () => postgresSide(o.config, o.baseDir, { snapshot: created.snapshot }), close: () => replication.close() },
      };
    } catch (e) {
      await replication.close();
      throw pgError(e, `creating the replication slot ${this.slot}`);
    }
  }

  /** Streams from `from` (the stored position, or the new slot's consistent point). */
  async start(from: string): Promise<void> {
    this.commitLsn = parseLsn(from);
    this.acked = this.commitLsn;
    this.replication = await ReplicationConnection.open(this.clientConfig());
    this.replication.start(this.slot, this.slot, from, {
      message: (m) => this.onMessage(m),
      keepalive: (walEnd) => {
        if (walEnd > this.walEnd) this.walEnd = walEnd;
      },
      end: (e) => this.queue.end(e && !this.stopping ? pgError(e, `streaming the changes of side ${this.o.side}`) : undefined),
    });
    // Once per beat, not per keepalive: keeping the position writes to the log, and the server answers that with a
    // keepalive of its own.
    this.heartbeat = setInterval(() => {
      if (!this.inTransaction && this.walEnd > this.commitLsn) {
        this.commitLsn = this.walEnd;
        this.queue.push({ kind: 'heartbeat', position: lsnText(this.walEnd) });
      }
      this.replication?.status(this.acked, true);
    }, this.o.heartbeatMs);
  }

  /** Everything committed on this side until now is applied: a marker is written to the log and awaited. */
  async catchUp(): Promise<void> {
    this.onceMarker = `${this.slot}:${process.pid}:${Date.now()}`;
    await this.query("SELECT pg_logical_emit_message(false, 'sluice', $1)", [this.onceMarker]);
  }

  ack(position: string): void {
    const lsn = parseLsn(position);
    if (lsn <= this.acked) return;
    this.acked = lsn;
    this.replication?.status(lsn);
  }

  protected pause(): void {
    this.replication?.pause();
  }

  protected resume(): void {
    this.replication?.resume();
  }

  async close(): Promise<void> {
    clearInterval(this.heartbeat);
    this.stopping = true;
    await this.replication?.close();
    this.queue.end();
    await this.pool.end().catch(() => undefined);
  }

  private onMessage(m: PgMessage): void {
    switch (m.tag) {
      case 'begin':
        this.inTransaction = true;
        this.changed = false;
        this.commitTime = m.time;
        // Committed at or before the position kept with the rows: applied already.
        this.skipping = m.lsn <= this.commitLsn;
        return;
      case 'commit': {
        this.inTransaction = false;
        if (!this.skipping) {
          this.commitLsn = m.lsn;
          // Only a transaction that changed one of the sync's tables is one to apply (another sync's tag is not).
          if (this.changed) this.queue.push({ kind: 'commit', position: lsnText(m.lsn), ...(this.commitTime ? { at: this.commitTime } : {}) });
        }
        this.skipping = false;
        if (this.stopping) this.queue.end();
        return;
      }
      case 'relation':
        this.relations.set(m.relation.id, this.map(m.relation));
        return;
      case 'message':
        if (m.prefix === 'sluice' && m.content === this.onceMarker) this.queue.push({ kind: 'caught-up' });
        return;
      case 'insert':
      case 'update':
      case 'delete':
        if (!this.skipping) this.onChange(m);
        return;
      case 'truncate':
        if (!this.skipping && m.relations.some((id) => this.relations.get(id))) {
          this.queue.end(new RunError(`a table of side ${this.o.side} was truncated: CDC does not carry TRUNCATE; run \`sluice sync <file> --resnapshot\` to copy the tables again`));
        }
        return;
      default:
    }
  }

  private onChange(m: Extract<PgMessage, { tag: 'insert' | 'update' | 'delete' }>): void {
    const rel = this.relations.get(m.relation);
    if (rel === null) {
      // The position table: a write the sync tagged as its own is not sent back (no echo loop).
      if (m.tag !== 'delete' && this.isOwnTag(m.relation, m.row)) this.skipping = true;
      return;
    }
    if (!rel) return;
    this.changed = true;
    if (m.tag === 'delete') {
      const before = m.full ? { old: rel.order.map((i) => value(m.old[i])) } : {};
      this.queue.push({ kind: 'change', table: rel.table.name, op: 'remove', row: rel.keyOrder.map((i) => value(m.old[i])), ...before });
      return;
    }
    const row = m.row;
    const old = m.tag === 'update' ? m.old : undefined;
    const before = m.tag === 'update' && m.old && m.full ? { old: rel.order.map((i) => value(m.old![i])) } : {};
    // A TOASTed value the update left alone is not sent: the old row has it when the table's identity is FULL.
    const values = rel.order.map((i) => (row[i] === UNCHANGED ? (old && old[i] !== UNCHANGED ? old[i] : UNCHANGED) : row[i]));
    if (values.includes(UNCHANGED)) {
      this.queue.end(new RunError(`an update of ${rel.table.name} on side ${this.o.side} left a large (TOASTed) value out: set \`ALTER TABLE ${rel.table.name} REPLICA IDENTITY FULL\` so the stream carries it`));
      return;
    }
    this.queue.push({ kind: 'change', table: rel.table.name, op: 'upsert', row: values as (string | null)[], ...before, ...(m.tag === 'insert' ? { insert: true } : {}) });
  }

  private readonly tagRelations = new Set<number>();

  private isOwnTag(relation: number, row: Tuple): boolean {
    return this.tagRelations.has(relation) && row[0] === this.o.sync;
  }

  /** A relation of the sync's tables (the positions in its rows), null for the position table, undefined otherwise. */
  private map(r: Relation): Mapped | null | undefined {
    if (r.schema === this.schema && r.table === POSITIONS) {
      this.tagRelations.add(r.id);
      return null;
    }
    const t = this.byName.get(`${r.schema}.${r.table}`);
    if (!t) return undefined;
    const index = new Map(r.columns.map((c, i) => [c.name, i]));
    const order = t.columns.map((c) => {
      const i = index.get(c);
      if (i === undefined) throw new RunError(`column ${c} of ${t.name} is no longer on side ${this.o.side}`);
      return i;
    });
    return { table: t, order, keyOrder: order.slice(0, t.keyParts) };
  }

  /** The settings logical replication needs, each refused with what to change. */
  private async check(): Promise<void> {
    const [s] = await this.query<{ wal_level: string; replication: boolean; slots: string }>(
      `SELECT current_setting('wal_level') AS wal_level, current_setting('max_replication_slots') AS slots,
         (SELECT rolreplication OR rolsuper FROM pg_roles WHERE rolname = current_user) AS replication`);
    const side = `side ${this.o.side}`;
    if (s.wal_level !== 'logical') {
      throw new ConfigError(`mode: cdc reads ${side}'s write-ahead log, and its server has wal_level = ${s.wal_level}: run \`ALTER SYSTEM SET wal_level = logical\` and restart PostgreSQL`, { path: `systems.${this.o.side}`, expected: 'wal_level = logical' });
    }
    if (!s.replication) throw new ConfigError(`mode: cdc needs a role with the REPLICATION right on ${side}: \`ALTER ROLE <user> REPLICATION\``, { path: `systems.${this.o.side}`, expected: 'a REPLICATION role' });
    if (Number(s.slots) < 1) throw new ConfigError(`${side}'s server has max_replication_slots = 0: set it to at least 1 and restart`, { path: `systems.${this.o.side}`, expected: 'max_replication_slots ≥ 1' });
    for (const t of this.o.tables) {
      const [r] = await this.query<{ identity: string | null; keyed: boolean }>(
        `SELECT c.relreplident AS identity, EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND (i.indisprimary OR i.indisreplident)) AS keyed
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`, schemaAndName(t.name, this.schema));
      if (!r) throw new RunError(`table ${t.name} not found on ${side}`);
      if (t.before && r.identity !== 'f') {
        throw new ConfigError(`table ${t.name} is two-way, and ${side} logs only its key before a change: \`ALTER TABLE ${t.name} REPLICA IDENTITY FULL\` (a change is applied only over the row it changed, or settled as a conflict)`, { path: 'tables', expected: 'REPLICA IDENTITY FULL' });
      }
      if (r.identity === 'n' || (r.identity === 'd' && !r.keyed)) {
        throw new ConfigError(`table ${t.name} on ${side} has no replica identity, so its updates and deletes are not in the log: give it a primary key, or \`ALTER TABLE ${t.name} REPLICA IDENTITY FULL\``, { path: 'tables', expected: 'a primary key or a replica identity' });
      }
    }
  }

  /** The publication holds the sync's tables of this side and the position table (for the tags). */
  private async publish(): Promise<void> {
    const list = [...this.o.tables.map((t) => schemaAndName(t.name, this.schema)), [this.schema, POSITIONS] as [string, string]]
      .map(([s, n]) => `"${s.replaceAll('"', '""')}"."${n.replaceAll('"', '""')}"`).join(', ');
    const exists = await this.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [this.slot]);
    await this.query(exists.length ? `ALTER PUBLICATION "${this.slot}" SET TABLE ${list}` : `CREATE PUBLICATION "${this.slot}" FOR TABLE ${list}`);
  }

  private clientConfig(): pg.ClientConfig {
    return poolConfig(this.o.config, this.o.baseDir);
  }

  private async query<R extends pg.QueryResultRow>(sql: string, values: unknown[] = []): Promise<R[]> {
    try {
      return (await this.pool.query<R>(sql, values)).rows;
    } catch (e) {
      throw pgError(e, `side ${this.o.side}`);
    }
  }
}

const value = (v: string | null | typeof UNCHANGED): string | null => (v === UNCHANGED ? null : v);
