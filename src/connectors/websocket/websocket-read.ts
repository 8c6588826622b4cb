// One stream's read of a WebSocket source: connections one after another (a dropped one is reconnected from the
// last offset received), their messages taken into micro-batches until a drain, the idle timeout or `max_records`.
import type { RunContext, StreamConfig } from '../../core/connector.js';
import { errorMessage } from '../../core/errors.js';
import type { Batch, StreamState } from '../../core/types.js';
import { isPlainObject } from '../json/json-array-parser.js';
import { MicroBatch } from '../micro-batch.js';
import type { WsConnection, WsEvent } from './ws-connection.js';
import { type Offset, compareOffsets, matchesFilter, offsetOf, recordsAt, renderTemplate } from './ws-messages.js';
import type { WebsocketStreamOptions } from './websocket-spec.js';
import { parseJson } from '../../core/values/json-parse.js';

/** Longest raw message kept in a DLQ entry: enough to see what went wrong, never a whole oversized frame. */
const RAW_LIMIT = 64 * 1024;

/** What this source keeps under `state.connector`. */
interface WsState {
  offset?: Offset;
}

export type WsStream = StreamConfig & WebsocketStreamOptions;

/** What a read needs of its source: connections and the URL as logs show it. */
export interface WsConnector {
  /** Undefined when a drain or the idle deadline ends the wait first. */
  connectWithBackoff(ctx: RunContext, stream: WsStream, failures: { n: number }, wake: AbortSignal, idleDeadline: number | undefined): Promise<WsConnection | undefined>;
  forget(conn: WsConnection): void;
  readonly label: string;
  /** A connection that lived this long was a success: the backoff starts over. */
  readonly healthyAfterMs: number;
}

export class WsRead {
  /** The newest offset received: the resume point of a reconnect and the floor below which records are replays. */
  private last: Offset | undefined;
  private readonly pending = new MicroBatch();
  private seq = 0;
  private taken = 0;
  private replays = 0;
  private idleDeadline: number | undefined;
  /** Consecutive failed connections; shared with connectWithBackoff, which counts the refused ones. */
  private readonly failures = { n: 0 };
  private conn: WsConnection | undefined;
  /** `max_records` reached. */
  private done = false;

  constructor(
    private readonly source: WsConnector, private readonly stream: WsStream, private readonly state: StreamState | undefined,
    private readonly ctx: RunContext,
  ) {
    this.last = (state?.connector as WsState | undefined)?.offset;
    this.touch();
  }

  async *batches(): AsyncGenerator<Batch> {
    const { ctx, stream } = this;
    // Waits between reconnects end early on a drain as well as on a hard abort.
    const wake = ctx.drain ? AbortSignal.any([ctx.signal, ctx.drain]) : ctx.signal;
    try {
      while (!this.done && !ctx.drain?.aborted) {
        this.conn = await this.source.connectWithBackoff(ctx, stream, this.failures, wake, this.idleDeadline);
        if (!this.conn) break; // drained or idle while waiting to reconnect
        if (yield* this.receive(this.conn)) break;
      }
      // Stop receiving first, then take what had already arrived: it goes into the last batch and commits with it.
      if (this.conn) {
        for (const ev of this.conn.stop()) if (ev.kind === 'message' && !this.done) this.take(ev);
        this.drop();
      }
      if (this.replays) ctx.logger.info({ stream: stream.name, replays: this.replays }, 'websocket: dropped replayed records (at or below the last offset)');
      if (this.pending.size) yield this.cut();
    } finally {
      if (this.conn) {
        this.conn.close();
        this.drop();
      }
    }
  }

  /** One connection's messages, batch by batch. True when the stream ends; false to reconnect. */
  private async *receive(conn: WsConnection): AsyncGenerator<Batch, boolean> {
    const { ctx, stream, source } = this;
    const opened = Date.now();
    let received = false;
    if (stream.subscribe !== undefined) {
      try {
        await conn.send(renderTemplate(stream.subscribe, this.last ?? stream.start_offset));
      } catch (e) {
        // Closed between the handshake and the subscribe: the same as a drop.
        ctx.logger.warn({ stream: stream.name, url: source.label, err: errorMessage(e) }, 'websocket subscribe failed: reconnecting');
        conn.close();
        this.drop();
        this.failures.n++;
        return false;
      }
    }
    ctx.logger.info({ stream: stream.name, url: source.label, offset: this.last ?? null }, 'websocket connected');
    while (!this.done) {
      const ev = await conn.next(minDefined(this.batchDeadline(), this.idleDeadline), ctx.drain, ctx.signal);
      if (ev === 'drain') return true;
      if (ev === 'timeout') {
        if (Date.now() >= (this.batchDeadline() ?? Infinity)) yield this.cut();
        if (Date.now() >= (this.idleDeadline ?? Infinity)) {
          ctx.logger.info({ stream: stream.name, idle_ms: stream.idle_timeout_ms }, 'websocket idle: ending the stream');
          return true;
        }
        continue;
      }
      if (ev.kind === 'closed') {
        // A connection that delivered something, or lived a while, was a success: the backoff starts over.
        this.failures.n = received || Date.now() - opened >= source.healthyAfterMs ? 1 : this.failures.n + 1;
        this.drop();
        ctx.logger.warn({ stream: stream.name, url: source.label, reason: ev.reason, offset: this.last ?? null }, 'websocket dropped: reconnecting');
        return false;
      }
      received = true;
      this.take(ev);
      if (this.pending.size >= Math.max(1, ctx.batchSize)) yield this.cut();
    }
    return true;
  }

  /** Take one message into the batch: its records, past the filter and above the last offset. */
  private take(ev: Extract<WsEvent, { kind: 'message' }>): void {
    const { stream } = this;
    const position = { url: this.source.label, offset: ++this.seq };
    const reject = (reason: string, raw: string): void => {
      this.pending.reject({ stage: 'parse', reason, raw: raw.length > RAW_LIMIT ? raw.slice(0, RAW_LIMIT) : raw, position });
      this.touch();
    };
    if (ev.invalid) return reject('binary message is not UTF-8 text (raw shown as base64)', ev.text);
    let message: unknown;
    try {
      message = parseJson(ev.text);
    } catch (e) {
      return reject(`invalid JSON: ${errorMessage(e)}`, ev.text);
    }
    if (!matchesFilter(message, stream.filter)) return;
    for (const record of recordsAt(message, stream.records) ?? []) {
      if (this.done) break;
      if (!isPlainObject(record)) {
        reject(`expected a record object${stream.records ? ` at "${stream.records}"` : ''}, got ${describe(record)}`, JSON.stringify(record) ?? String(record));
        continue;
      }
      if (stream.offset) {
        const off = offsetOf(record, stream.offset);
        if (off !== undefined) {
          if (this.last !== undefined && compareOffsets(off, this.last) <= 0) {
            this.replays++;
            continue;
          }
          this.last = off;
        }
      }
      this.pending.add(record);
      this.touch();
      if (stream.max_records !== undefined && ++this.taken >= stream.max_records) this.done = true;
    }
  }

  /** Something arrived: the idle timeout starts over. */
  private touch(): void {
    if (this.stream.idle_timeout_ms) this.idleDeadline = Date.now() + this.stream.idle_timeout_ms;
  }

  private batchDeadline(): number | undefined {
    const started = this.pending.startedAt;
    return started === undefined ? undefined : started + this.stream.max_batch_ms;
  }

  private drop(): void {
    if (this.conn) this.source.forget(this.conn);
    this.conn = undefined;
  }

  private cut(): Batch {
    const { state, last } = this;
    return this.pending.cut({ ...state, version: 1, connector: { ...state?.connector, ...(last !== undefined ? { offset: last } : {}) } });
  }
}

const minDefined = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
