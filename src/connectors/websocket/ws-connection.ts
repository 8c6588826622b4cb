// One WebSocket connection as a pull queue. Messages are queued as they arrive and taken by the source one at a time;
// past `highWater` queued messages the socket is paused (TCP pushes back on the server), so memory stays bounded
// however fast the server sends. A heartbeat pings every `interval_ms` and terminates a connection that stays silent
// `timeout_ms` after a ping: a half-open TCP connection otherwise looks alive forever.
import WebSocket from 'ws';
import { RunError, TransientError } from '../../core/errors.js';
import { type Template, renderTemplate } from './ws-messages.js';

export type WsEvent =
  | { kind: 'message'; text: string; invalid?: false }
  /** A binary frame that is not UTF-8: `text` is its base64, for the DLQ. */
  | { kind: 'message'; text: string; invalid: true }
  | { kind: 'closed'; reason: string };

export interface HeartbeatOptions {
  /** 0 disables the heartbeat. */
  interval_ms: number;
  timeout_ms: number;
  /** An application-level ping sent instead of a protocol ping frame. */
  message?: Template;
}

export interface ConnectOptions {
  headers: Record<string, string>;
  connectTimeoutMs: number;
  heartbeat: HeartbeatOptions;
  /** Queued messages at which the socket is paused; it resumes at half. */
  highWater: number;
  /** The URL as it may be shown (credentials masked). */
  label: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class WsConnection {
  private readonly queue: WsEvent[] = [];
  private wake: (() => void) | undefined;
  private lastInbound = Date.now();
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly deadTimers = new Set<NodeJS.Timeout>();
  /** Why we terminated the socket ourselves, reported instead of the close code. */
  private why: string | undefined;
  private stopped = false;
  private closed = false;

  /** Open a connection; rejects with TransientError (worth a retry) or RunError (a 4xx handshake: it will not heal). */
  static open(url: string, o: ConnectOptions, signal: AbortSignal): Promise<WsConnection> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, { headers: o.headers, handshakeTimeout: o.connectTimeoutMs });
      let settled = false;
      const settle = (err: Error | undefined): void => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        if (err) {
          socket.terminate();
          reject(err);
        } else {
          resolve(new WsConnection(socket, o));
        }
      };
      const onAbort = (): void => settle(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
      // ws emits 'error' as an event: without a listener for the socket's whole life, one would crash the process.
      socket.on('error', (e) => settle(new TransientError(`cannot connect to ${o.label}: ${e.message}`)));
      socket.once('unexpected-response', (req, res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        req.destroy();
        // Auth and not-found answers will not heal by retrying; overload and gateway answers may.
        const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
        const message = `${o.label} answered the WebSocket handshake with HTTP ${status}`;
        settle(permanent ? new RunError(message) : new TransientError(message));
      });
      socket.once('open', () => settle(undefined));
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private constructor(private readonly socket: WebSocket, private readonly o: ConnectOptions) {
    socket.on('message', (data, isBinary) => {
      this.lastInbound = Date.now();
      if (this.stopped) return;
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
      // Text frames are valid UTF-8 (ws closes the connection otherwise); binary frames are checked here.
      if (!isBinary) this.push({ kind: 'message', text: buf.toString('utf8') });
      else {
        try {
          this.push({ kind: 'message', text: utf8.decode(buf) });
        } catch {
          this.push({ kind: 'message', text: buf.toString('base64'), invalid: true });
        }
      }
    });
    socket.on('pong', () => (this.lastInbound = Date.now()));
    socket.on('ping', () => (this.lastInbound = Date.now()));
    socket.on('close', (code, reason) => {
      this.closed = true;
      this.stopHeartbeat();
      const text = reason.toString('utf8');
      this.push({ kind: 'closed', reason: this.why ?? `closed with code ${code}${text ? ` (${text})` : ''}` }, true);
    });
    if (o.heartbeat.interval_ms > 0) this.heartbeat = setInterval(() => this.beat(), o.heartbeat.interval_ms);
  }

  /** Send a text message; resolves once it is written to the socket. */
  send(text: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.send(text, (err) => (err ? reject(new TransientError(`sending to ${this.o.label} failed: ${err.message}`)) : resolve()));
    });
  }

  /**
   * The next event: a queued message, the close of the socket (after every message that came before it), 'timeout' at
   * `until` (epoch ms), or 'drain' once `drain` is aborted and nothing is queued. A hard `signal` abort throws.
   */
  async next(until: number | undefined, drain: AbortSignal | undefined, signal: AbortSignal): Promise<WsEvent | 'timeout' | 'drain'> {
    while (true) {
      signal.throwIfAborted();
      const ev = this.queue.shift();
      if (ev) {
        if (this.socket.isPaused && this.queue.length <= this.o.highWater / 2) this.resume();
        return ev;
      }
      if (drain?.aborted) return 'drain';
      const wait = until === undefined ? undefined : until - Date.now();
      if (wait !== undefined && wait <= 0) return 'timeout';
      await new Promise<void>((resolve) => {
        let timer: NodeJS.Timeout | undefined;
        const done = (): void => {
          clearTimeout(timer);
          drain?.removeEventListener('abort', done);
          signal.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        this.wake = done;
        if (wait !== undefined) timer = setTimeout(done, wait);
        drain?.addEventListener('abort', done, { once: true });
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  /**
   * Stop receiving and close the connection normally; the messages already queued are returned, and nothing that
   * arrives later is taken (it was not committed, so the next subscribe asks for it again).
   */
  stop(): WsEvent[] {
    this.stopped = true;
    const rest = this.queue.splice(0).filter((e) => e.kind === 'message');
    this.close();
    return rest;
  }

  /** Close normally (code 1000), or at once when the socket never finished opening or closing. Idempotent. */
  close(): void {
    this.stopHeartbeat();
    if (this.closed) return;
    if (this.socket.readyState === WebSocket.OPEN) {
      this.socket.close(1000, 'sluice: stream finished');
      // A peer that never answers the close frame must not keep the process alive.
      setTimeout(() => this.socket.terminate(), 2000).unref();
    } else {
      this.socket.terminate();
    }
  }

  private push(ev: WsEvent, last = false): void {
    this.queue.push(ev);
    if (!last && !this.socket.isPaused && this.queue.length >= this.o.highWater) {
      this.socket.pause();
      // Pongs are not read while paused: silence then is ours, not the server's.
      this.clearDeadTimers();
    }
    this.wake?.();
  }

  private resume(): void {
    // Give the server a fresh heartbeat window: its pong may sit behind the backlog just resumed.
    this.lastInbound = Date.now();
    this.socket.resume();
  }

  private beat(): void {
    if (this.socket.isPaused || this.socket.readyState !== WebSocket.OPEN) return;
    const sentAt = Date.now();
    const hb = this.o.heartbeat;
    if (hb.message !== undefined) this.socket.send(renderTemplate(hb.message, undefined), () => undefined);
    else this.socket.ping();
    const timer = setTimeout(() => {
      this.deadTimers.delete(timer);
      // Judge after the event loop's next poll: when this process was busy past the deadline, timers fire before
      // the pong waiting in the socket is read, and a live connection would be dropped for our own stall.
      setImmediate(() => {
        if (this.lastInbound >= sentAt || this.socket.isPaused || this.socket.readyState !== WebSocket.OPEN) return;
        this.why = `no answer to a heartbeat within ${hb.timeout_ms} ms`;
        this.socket.terminate();
      });
    }, hb.timeout_ms);
    this.deadTimers.add(timer);
  }

  private clearDeadTimers(): void {
    for (const t of this.deadTimers) clearTimeout(t);
    this.deadTimers.clear();
  }

  private stopHeartbeat(): void {
    clearInterval(this.heartbeat);
    this.heartbeat = undefined;
    this.clearDeadTimers();
  }
}
