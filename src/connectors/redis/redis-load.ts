// One stream's load into Redis, on a connection of its own (a transaction belongs to a connection).
//
//   merge, append   a checkpoint is ONE transaction: at its first write the load WATCHes the state key, checks that the
//                   state is still the version it committed last, and sends MULTI; every write() then streams its
//                   rows' commands into the open MULTI (the server queues them: this process holds one batch, the
//                   server one checkpoint, which `checkpoint_rows` bounds); commit() adds the state and sends EXEC.
//                   A crash or a dropped connection before EXEC leaves nothing; a re-run reads the state committed
//                   with the rows and writes nothing twice. A row is DEL + HSET (+ PEXPIRE) or DEL + SET: replaced
//                   whole, so dropped columns do not linger, and no command can fail at EXEC on a key of another type
//                   (Redis has no rollback: a command failing inside EXEC would not undo the others). A row whose
//                   delete marker is true is a DEL. The DEL's reply says whether the key existed: inserted, updated
//                   and deleted are exact.
//                   WATCH makes a second writer of the same stream (a run started by hand beside a scheduled one)
//                   fail at EXEC instead of interleaving checkpoints: its state changed under us, so ours is void.
//   replace, gated  (redis-staging.ts) rows go to staging keys nobody reads, pipelined, no state; finish() moves them
//                   into place and commits the state.
//
// A single MULTI per checkpoint is the price of exactly-once here: a huge `checkpoint_rows` makes the server hold a
// huge queued transaction (and block other clients while it runs EXEC). The engine's default, 100 000 rows, is a few
// tens of MB and an EXEC of well under a second.
import type { Redis } from 'ioredis';
import type { CommitCounts, LoadTarget } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import { isDeleteMarked } from '../../core/delete-marker.js';
import type { Logger } from '../../core/logger.js';
import { type Schema, type StreamState, typedColumn } from '../../core/types.js';
import type { StartableLoad } from '../open-loads.js';
import { foldedColumn, requireColumn } from '../sql/column-names.js';
import { attempt, closeQuietly, redisError } from './redis-connection.js';
import { type RedisKeys, keyValue } from './redis-keys.js';
import type { RedisFormat } from './redis-spec.js';
import { RedisStaging } from './redis-staging.js';
import { RowEncoder } from './redis-values.js';
import { type StateRecord, readStateRecord, stateRecordText } from './redis-state.js';

const ZERO: CommitCounts = { inserted: 0, updated: 0, deleted: 0 };

export interface RedisLoadOptions {
  conn: Redis;
  keys: RedisKeys;
  target: LoadTarget;
  format: RedisFormat;
  ttlMs?: number;
  logger: Logger;
  onDone: () => void;
}

/** What a row became in the open transaction: an upsert (DEL, write[, PEXPIRE]) or a delete (DEL). */
const UPSERT = 1;
const DELETE = 0;

export class RedisStreamLoad implements StartableLoad {
  private readonly conn: Redis;
  private readonly target: LoadTarget;
  private readonly stateKey: string;
  private encoder: RowEncoder | undefined;
  private keyAt: number[] = [];
  private markerAt = -1;
  /** The version of the state this load last saw committed (0: none); the next commit writes version + 1. */
  private version = 0;
  /** A MULTI is open on the connection. */
  private inMulti = false;
  /** Per row queued in the open MULTI: UPSERT or DELETE, to read the counts from EXEC's replies. */
  private queued: number[] = [];
  private readonly staging: RedisStaging | undefined;
  private done = false;

  constructor(private readonly opts: RedisLoadOptions) {
    this.conn = opts.conn;
    this.target = opts.target;
    this.stateKey = opts.keys.state(opts.target.pipeline, opts.target.stream);
    this.staging = opts.target.disposition === 'replace' || opts.target.staged
      ? new RedisStaging(opts.conn, opts.keys, opts.target, opts.ttlMs) : undefined;
  }

  async start(): Promise<void> {
    const { target } = this;
    if (target.disposition === 'scd2') {
      throw new RunError(`stream ${target.stream}: the redis destination keeps one value per key and does not support write: scd2`, target.stream);
    }
    if (target.primaryKey.length === 0) {
      throw new RunError(`stream ${target.stream}: the redis destination stores each row under its key and needs a primary_key`, target.stream);
    }
    this.version = (await this.readRecord())?.version ?? 0;
    await this.staging?.clear();
  }

  async evolve(schema: Schema): Promise<void> {
    const columns = schema.columns.map((c) => typedColumn(c, c.target ?? c.name));
    const { stream } = this.target;
    this.keyAt = this.target.primaryKey.map((k) => columns.findIndex((c) => c.name === requireColumn(columns, k, stream, 'primary key column')));
    const marker = this.target.deleteColumn === undefined ? undefined : foldedColumn(columns, this.target.deleteColumn);
    this.markerAt = marker === undefined ? -1 : columns.findIndex((c) => c.name === marker);
    this.encoder = new RowEncoder(this.opts.format, columns, this.markerAt < 0 ? undefined : this.markerAt);
  }

  async write(rows: unknown[][]): Promise<void> {
    if (!this.encoder) throw new RunError(`stream ${this.target.stream}: write() before evolve()`, this.target.stream);
    if (rows.length === 0) return;
    if (this.staging) {
      await this.staging.write(rows, (row) => this.suffix(row), this.encoder, (row) => this.marked(row));
      return;
    }
    if (!this.inMulti) await this.openTransaction();
    const { conn, encoder } = this;
    const ttl = this.opts.ttlMs;
    const table = this.opts.keys.table(this.target.table);
    // Sent without waiting for each reply (the socket pipelines them); the QUEUED replies are awaited per write.
    const sent: Promise<unknown>[] = [];
    for (const row of rows) {
      const key = table + this.suffix(row);
      sent.push(conn.del(key));
      if (this.marked(row)) {
        this.queued.push(DELETE);
        continue;
      }
      this.queued.push(UPSERT);
      if (encoder.isHash) {
        sent.push(conn.hset(key, ...encoder.fields(row)));
        if (ttl !== undefined) sent.push(conn.pexpire(key, ttl));
      } else {
        sent.push(ttl === undefined ? conn.set(key, encoder.json(row)) : conn.set(key, encoder.json(row), 'PX', ttl));
      }
    }
    await attempt(`stream ${this.target.stream}: writing rows to Redis failed`, () => Promise.all(sent), this.target.stream);
  }

  async commit(state: StreamState): Promise<CommitCounts> {
    if (this.staging) return ZERO;
    return this.commitTransaction(state);
  }

  async finish(state: StreamState): Promise<CommitCounts> {
    try {
      if (!this.staging) return await this.commitTransaction(state);
      const counts = await this.staging.publish();
      await this.saveState(state, (multi) => this.staging!.dropSets(multi));
      return counts;
    } finally {
      this.close();
    }
  }

  async abort(): Promise<void> {
    if (this.done) return;
    // An open MULTI dies with the connection: the server discards what it queued. Staging keys are invisible and the
    // next start() deletes them; deleting them now keeps the server tidy.
    if (this.staging && this.conn.status === 'ready') {
      await this.staging.clear(this.target.runId).catch((e: unknown) => this.opts.logger.warn({ err: redisError('cleanup', e).message }, 'could not delete the redis staging keys'));
    }
    this.close();
  }

  /** Key values of a row, escaped and joined: what follows the table's prefix in its key. */
  private suffix(row: readonly unknown[]): string {
    const at = this.keyAt;
    let s = keyValue(row[at[0]]);
    for (let i = 1; i < at.length; i++) s += `:${keyValue(row[at[i]])}`;
    return s;
  }

  private marked(row: readonly unknown[]): boolean {
    return this.markerAt >= 0 && isDeleteMarked(row[this.markerAt]);
  }

  private async readRecord(): Promise<StateRecord | undefined> {
    return attempt(`stream ${this.target.stream}: reading the state`, async () => readStateRecord(await this.conn.get(this.stateKey)), this.target.stream);
  }

  /** WATCH the state key, check nobody committed since we did, and send MULTI. */
  private async openTransaction(): Promise<void> {
    const { stream } = this.target;
    await attempt(`stream ${stream}: WATCH failed`, () => this.conn.watch(this.stateKey), stream);
    const seen = (await this.readRecord())?.version ?? 0;
    if (seen !== this.version) {
      await this.conn.unwatch();
      throw this.conflict();
    }
    await attempt(`stream ${stream}: MULTI failed`, () => this.conn.multi({ pipeline: false }), stream);
    this.inMulti = true;
    this.queued = [];
  }

  /** Queue the state, EXEC, and count what the rows did from the replies of their DELs. */
  private async commitTransaction(state: StreamState): Promise<CommitCounts> {
    if (!this.inMulti) await this.openTransaction();
    const replies = await this.exec(state);
    const counts = { ...ZERO };
    const upsert = this.encoder?.isHash && this.opts.ttlMs !== undefined ? 3 : 2;
    let at = 0;
    for (const kind of this.queued) {
      const existed = replies[at]?.[1] === 1;
      if (kind === DELETE) {
        if (existed) counts.deleted++;
        at += 1;
      } else {
        if (existed) counts.updated++;
        else counts.inserted++;
        at += upsert;
      }
    }
    this.queued = [];
    return counts;
  }

  /** Queue the state write (unless the load leaves state alone) and EXEC; the replies, each [error, result]. */
  private async exec(state: StreamState): Promise<[Error | null, unknown][]> {
    const { stream } = this.target;
    if (!this.target.leavesState) {
      await attempt(`stream ${stream}: queueing the state failed`, () => this.conn.set(this.stateKey, stateRecordText(this.version + 1, this.target.runId, state)), stream);
    }
    this.inMulti = false;
    const replies = await attempt(`stream ${stream}: EXEC failed`, () => this.conn.exec(), stream);
    // A null EXEC: the WATCHed state key changed, and the server applied nothing.
    if (replies === null) throw this.conflict();
    const failed = replies.find(([e]) => e);
    if (failed) throw redisError(`stream ${stream}: a command of the commit failed`, failed[0], stream);
    if (!this.target.leavesState) this.version++;
    return replies;
  }

  /** The final transaction of a staged load: the state, plus what `more` queues, under the same WATCH. */
  private async saveState(state: StreamState, more: (conn: Redis) => Promise<unknown>): Promise<void> {
    await this.openTransaction();
    await attempt(`stream ${this.target.stream}: finishing failed`, () => more(this.conn), this.target.stream);
    await this.exec(state);
  }

  private conflict(): RunError {
    const { stream } = this.target;
    return new RunError(`stream ${stream}: its state in Redis changed while this run was loading it (another run writing the same stream?); nothing of this checkpoint was applied`, stream);
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    closeQuietly(this.conn);
    this.opts.onDone();
  }
}
