// The `websocket` source: one connection per stream, subscribe, then micro-batches until stopped.
//
//   connect ─► subscribe(offset) ─► messages ─► filter ─► records ─► drop offsets ≤ last ─► batch
//      ▲                                                                                     │ batch_size records or
//      └── backoff + jitter ◄── dropped socket / heartbeat timeout                           ▼ max_batch_ms: yield
//                                                                                  { rows, checkpoint, flush: true }
//
// Every batch carries the last offset as its checkpoint and asks for an immediate commit, so what a stream has
// committed is never more than one micro-batch behind what it received. A reconnect subscribes from the last offset
// received (records buffered since are still in memory and will be yielded); a later run from the last committed one.
// Servers replay inclusively or not: records at or below the offset are dropped either way.
import type { RunContext, Source, StreamConfig } from '../../core/connector.js';
import { RunError, TransientError, errorMessage } from '../../core/errors.js';
import { redact, registerSecret } from '../../core/redact.js';
import type { Batch, RejectedRow, Row, StreamState } from '../../core/types.js';
import { Auth } from '../../http/auth.js';
import { backoffMs, sleep } from '../../http/backoff.js';
import { isPlainObject } from '../json/json-array-parser.js';
import { type ConnectOptions, WsConnection, type WsEvent } from './ws-connection.js';
import { type Offset, compareOffsets, matchesFilter, offsetOf, recordsAt, renderTemplate } from './ws-messages.js';
import type { WebsocketSourceConfig, WebsocketStreamOptions } from './websocket-spec.js';

/** Longest raw message kept in a DLQ entry: enough to see what went wrong, never a whole oversized frame. */
const RAW_LIMIT = 64 * 1024;

/** What this source keeps under `state.connector`. */
interface WsState {
  offset?: Offset;
}

type WsStream = StreamConfig & WebsocketStreamOptions;

export class WebsocketSource implements Source {
  readonly type = 'websocket';
  private readonly auth: Auth;
  /** Open connections, closed by close(): a stream the engine stopped pulling leaves its generator suspended. */
  private readonly live = new Set<WsConnection>();

  constructor(private readonly config: WebsocketSourceConfig) {
    this.auth = new Auth(config.auth, fetchToken);
    for (const v of Object.values(config.headers)) if (/^(bearer|basic)\s/i.test(v)) registerSecret(v.replace(/^\S+\s+/, ''));
  }

  async check(ctx: RunContext): Promise<void> {
    const conn = await this.open(ctx, ctx.signal);
    conn.close();
  }

  async *read(streamConfig: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncGenerator<Batch> {
    const stream = streamConfig as WsStream;
    const label = this.label();
    const stored = (state?.connector ?? {}) as WsState;
    const batchSize = Math.max(1, ctx.batchSize);
    // The newest offset received: the resume point of a reconnect and the floor below which records are replays.
    let last: Offset | undefined = stored.offset;
    let rows: Row[] = [];
    let rejected: RejectedRow[] = [];
    let batchDeadline: number | undefined;
    let seq = 0;
    let taken = 0;
    let replays = 0;
    let idleDeadline = stream.idle_timeout_ms ? Date.now() + stream.idle_timeout_ms : undefined;
    // Consecutive failed connections; shared with connectWithBackoff, which counts the refused ones.
    const failures = { n: 0 };
    let conn: WsConnection | undefined;
    let done = false;
    // Waits between reconnects end early on a drain as well as on a hard abort.
    const wake = ctx.drain ? AbortSignal.any([ctx.signal, ctx.drain]) : ctx.signal;

    const batch = (): Batch => {
      const b: Batch = {
        rows, rejected, flush: true,
        checkpoint: { ...state, version: 1, connector: { ...state?.connector, ...(last !== undefined ? { offset: last } : {}) } },
      };
      rows = [];
      rejected = [];
      batchDeadline = undefined;
      return b;
    };
    const pending = (): boolean => rows.length > 0 || rejected.length > 0;

    /** Take one message into the batch. */
    const take = (ev: Extract<WsEvent, { kind: 'message' }>): void => {
      seq++;
      const position = { url: label, offset: seq };
      const reject = (reason: string, raw: string): void => {
        rejected.push({ stage: 'parse', reason, raw: raw.length > RAW_LIMIT ? raw.slice(0, RAW_LIMIT) : raw, position });
        batchDeadline ??= Date.now() + stream.max_batch_ms;
        if (stream.idle_timeout_ms) idleDeadline = Date.now() + stream.idle_timeout_ms;
      };
      if (ev.invalid) return reject('binary message is not UTF-8 text (raw shown as base64)', ev.text);
      let message: unknown;
      try {
        message = JSON.parse(ev.text);
      } catch (e) {
        return reject(`invalid JSON: ${errorMessage(e)}`, ev.text);
      }
      if (!matchesFilter(message, stream.filter)) return;
      const records = recordsAt(message, stream.records);
      if (!records) return;
      for (const record of records) {
        if (done) break;
        if (!isPlainObject(record)) {
          reject(`expected a record object${stream.records ? ` at "${stream.records}"` : ''}, got ${describe(record)}`, JSON.stringify(record) ?? String(record));
          continue;
        }
        if (stream.offset) {
          const off = offsetOf(record, stream.offset);
          if (off !== undefined) {
            if (last !== undefined && compareOffsets(off, last) <= 0) {
              replays++;
              continue;
            }
            last = off;
          }
        }
        rows.push(record);
        taken++;
        batchDeadline ??= Date.now() + stream.max_batch_ms;
        if (stream.idle_timeout_ms) idleDeadline = Date.now() + stream.idle_timeout_ms;
        if (stream.max_records !== undefined && taken >= stream.max_records) done = true;
      }
    };

    try {
      outer: while (!done) {
        if (ctx.drain?.aborted) break;
        conn = await this.connectWithBackoff(ctx, stream, failures, wake, idleDeadline);
        if (!conn) break; // drained or idle while waiting to reconnect
        const opened = Date.now();
        let received = false;
        if (stream.subscribe !== undefined) {
          try {
            await conn.send(renderTemplate(stream.subscribe, last ?? stream.start_offset));
          } catch (e) {
            // Closed between the handshake and the subscribe: the same as a drop.
            ctx.logger.warn({ stream: stream.name, url: label, err: errorMessage(e) }, 'websocket subscribe failed: reconnecting');
            conn.close();
            this.forget(conn);
            conn = undefined;
            failures.n++;
            continue;
          }
        }
        ctx.logger.info({ stream: stream.name, url: label, offset: last ?? null }, 'websocket connected');
        while (!done) {
          const until = minDefined(batchDeadline, idleDeadline);
          const ev = await conn.next(until, ctx.drain, ctx.signal);
          if (ev === 'drain') break outer;
          if (ev === 'timeout') {
            if (batchDeadline !== undefined && Date.now() >= batchDeadline) yield batch();
            if (idleDeadline !== undefined && Date.now() >= idleDeadline) {
              ctx.logger.info({ stream: stream.name, idle_ms: stream.idle_timeout_ms }, 'websocket idle: ending the stream');
              break outer;
            }
            continue;
          }
          if (ev.kind === 'closed') {
            // A connection that delivered something, or lived a while, was a success: the backoff starts over.
            failures.n = received || Date.now() - opened >= this.config.reconnect.max_ms ? 1 : failures.n + 1;
            this.forget(conn);
            conn = undefined;
            ctx.logger.warn({ stream: stream.name, url: label, reason: ev.reason, offset: last ?? null }, 'websocket dropped: reconnecting');
            continue outer;
          }
          received = true;
          take(ev);
          if (rows.length + rejected.length >= batchSize) yield batch();
        }
      }
      // Stop receiving first, then take what had already arrived: it goes into the last batch and commits with it.
      if (conn) {
        for (const ev of conn.stop()) if (ev.kind === 'message' && !done) take(ev);
        this.forget(conn);
        conn = undefined;
      }
      if (replays) ctx.logger.info({ stream: stream.name, replays }, 'websocket: dropped replayed records (at or below the last offset)');
      if (pending()) yield batch();
    } finally {
      if (conn) {
        conn.close();
        this.forget(conn);
      }
    }
  }

  async close(): Promise<void> {
    for (const c of this.live) c.close();
    this.live.clear();
  }

  /**
   * Connect, retrying with exponential backoff and full jitter. `failures.n` counts the consecutive failures so far
   * (0 on the first connection of a read). Undefined when a drain or the idle deadline ends the wait first.
   */
  private async connectWithBackoff(
    ctx: RunContext, stream: WsStream, failures: { n: number }, wake: AbortSignal, idleDeadline: number | undefined,
  ): Promise<WsConnection | undefined> {
    const policy = this.config.reconnect;
    while (true) {
      if (failures.n >= policy.attempts) {
        throw new RunError(`stream ${stream.name}: ${this.label()} unreachable after ${failures.n} consecutive failed connections`, stream.name);
      }
      if (failures.n > 0) {
        let wait = backoffMs(policy, failures.n);
        if (idleDeadline !== undefined) wait = Math.min(wait, Math.max(0, idleDeadline - Date.now()));
        try {
          await sleep(wait, wake);
        } catch {
          ctx.signal.throwIfAborted();
          return undefined;
        }
        if (idleDeadline !== undefined && Date.now() >= idleDeadline) return undefined;
      }
      try {
        return await this.open(ctx, wake);
      } catch (e) {
        ctx.signal.throwIfAborted();
        if (ctx.drain?.aborted) return undefined;
        if (!(e instanceof TransientError)) throw new RunError(`stream ${stream.name}: ${errorMessage(e)}`, stream.name, { cause: e });
        failures.n++;
        ctx.logger.warn({ stream: stream.name, err: errorMessage(e), attempt: failures.n }, 'websocket connection failed');
      }
    }
  }

  private async open(ctx: RunContext, signal: AbortSignal): Promise<WsConnection> {
    const creds = await this.auth.credentials(signal);
    const url = new URL(this.config.url);
    for (const [k, v] of Object.entries(creds.query)) url.searchParams.set(k, v);
    const opts: ConnectOptions = {
      headers: { ...this.config.headers, ...creds.headers },
      connectTimeoutMs: this.config.connect_timeout_ms,
      heartbeat: this.config.heartbeat,
      highWater: Math.max(1000, 2 * ctx.batchSize),
      label: this.label(),
    };
    const conn = await WsConnection.open(url.toString(), opts, signal);
    this.live.add(conn);
    return conn;
  }

  private forget(conn: WsConnection): void {
    this.live.delete(conn);
  }

  /** The URL as logs, errors and DLQ positions show it: credentials masked (the DLQ does not redact positions). */
  private label(): string {
    return redact(this.config.url);
  }
}

/** The OAuth2 token request, when `auth` is oauth2: a plain POST; the token endpoint is not the WebSocket server. */
async function fetchToken(url: URL, body: URLSearchParams, headers: Record<string, string>): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(30_000) });
  if (!res.ok) {
    const err = `OAuth2 token endpoint ${url.origin}${url.pathname} answered HTTP ${res.status}`;
    throw res.status >= 500 || res.status === 429 ? new TransientError(err) : new RunError(err);
  }
  return res.json();
}

const minDefined = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined ? b : b === undefined ? a : Math.min(a, b);

const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v);
