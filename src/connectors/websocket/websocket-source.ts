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
import type { Batch, StreamState } from '../../core/types.js';
import { Auth } from '../../http/auth.js';
import { backoffMs, sleep } from '../../http/backoff.js';
import { type ConnectOptions, WsConnection } from './ws-connection.js';
import { WsRead, type WsConnector, type WsStream } from './websocket-read.js';
import type { WebsocketSourceConfig } from './websocket-spec.js';

export class WebsocketSource implements Source, WsConnector {
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

  read(stream: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncGenerator<Batch> {
    return new WsRead(this, stream as WsStream, state, ctx).batches();
  }

  async close(): Promise<void> {
    for (const c of this.live) c.close();
    this.live.clear();
  }

  /**
   * Connect, retrying with exponential backoff and full jitter. `failures.n` counts the consecutive failures so far
   * (0 on the first connection of a read). Undefined when a drain or the idle deadline ends the wait first.
   */
  async connectWithBackoff(
    ctx: RunContext, stream: WsStream, failures: { n: number }, wake: AbortSignal, idleDeadline: number | undefined,
  ): Promise<WsConnection | undefined> {
    const policy = this.config.reconnect;
    while (true) {
      if (failures.n >= policy.attempts) {
        throw new RunError(`stream ${stream.name}: ${this.label} unreachable after ${failures.n} consecutive failed connections`, stream.name);
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
      label: this.label,
    };
    const conn = await WsConnection.open(url.toString(), opts, signal);
    this.live.add(conn);
    return conn;
  }

  forget(conn: WsConnection): void {
    this.live.delete(conn);
  }

  /** The URL as logs, errors and DLQ positions show it: credentials masked (the DLQ does not redact positions). */
  get label(): string {
    return redact(this.config.url);
  }

  get healthyAfterMs(): number {
    return this.config.reconnect.max_ms;
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

