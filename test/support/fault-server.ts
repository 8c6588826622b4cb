// A loopback HTTP server for API-source tests and the api benchmark: routes answer JSON, faults are injected on
// demand (status codes with Retry-After, slow responses and timeouts, truncated bodies, malformed JSON, dropped
// sockets), and an optional server-side limit (requests per second over any one-second window, and concurrent
// requests) is enforced and measured, so a test can assert what the client never did.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { random } from './random.js';

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string; body?: string }
  /** Answer normally, but only after `ms`. Longer than the client's timeout, it is a timeout. */
  | { kind: 'slow'; ms: number }
  /** Announce the whole body's length, send part of it, then close the connection. */
  | { kind: 'truncate' }
  /** A 200 whose body is not JSON. */
  | { kind: 'malformed' }
  /** Close the connection without an answer. */
  | { kind: 'drop' };

export interface Reply {
  status?: number;
  headers?: Record<string, string>;
  /** Serialized as JSON unless it is a string. */
  body?: unknown;
}

export interface Request {
  method: string;
  url: URL;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Route = (req: Request) => Reply | Promise<Reply>;

export interface FaultServerOptions {
  route: Route;
  /** Decide a fault for the n-th request (from 1); undefined answers normally. */
  fault?: (req: Request, n: number) => Fault | undefined;
  /** Limits the server enforces (over them: 429 with `Retry-After: 1`, counted in `stats.overLimit`). */
  limit?: { requestsPerSecond?: number; concurrency?: number };
}

export interface ServerStats {
  requests: number;
  faults: number;
  overLimit: number;
  /** Most requests that arrived within any one-second window. */
  peakPerSecond: number;
  /** Most requests being handled at once. */
  peakConcurrency: number;
  log: Request[];
}

export interface FaultServer {
  url: string;
  stats: ServerStats;
  /** Forget the log and the counters (between two passes). */
  reset(): void;
  close(): Promise<void>;
}

/** Keep the request log? The benchmark's 2,000+ requests would only cost memory. */
const LOG_LIMIT = 10_000;

export async function startFaultServer(options: FaultServerOptions): Promise<FaultServer> {
  const stats: ServerStats = { requests: 0, faults: 0, overLimit: 0, peakPerSecond: 0, peakConcurrency: 0, log: [] };
  const arrivals: number[] = [];
  let active = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const now = performance.now();
    arrivals.push(now);
    while (arrivals[0] <= now - 1000) arrivals.shift();
    stats.peakPerSecond = Math.max(stats.peakPerSecond, arrivals.length);
    active++;
    stats.peakConcurrency = Math.max(stats.peakConcurrency, active);
    res.on('close', () => active--);
    const n = ++stats.requests;
    let body = '';
    for await (const chunk of req) body += chunk;
    const request: Request = { method: req.method ?? 'GET', url: new URL(req.url ?? '/', 'http://127.0.0.1'), headers: req.headers, body };
    if (stats.log.length < LOG_LIMIT) stats.log.push(request);

    const limit = options.limit;
    if ((limit?.requestsPerSecond !== undefined && arrivals.length > limit.requestsPerSecond)
      || (limit?.concurrency !== undefined && active > limit.concurrency)) {
      stats.overLimit++;
      send(res, 429, { 'retry-after': '1' }, '{"error":"over the limit"}');
      return;
    }
    const fault = options.fault?.(request, n);
    if (fault) stats.faults++;
    if (fault?.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      send(res, fault.status, fault.retryAfter !== undefined ? { 'retry-after': fault.retryAfter } : {}, fault.body ?? `{"error":"injected ${fault.status}"}`);
      return;
    }
    if (fault?.kind === 'slow') {
      await new Promise((r) => setTimeout(r, fault.ms));
      if (res.destroyed) return;
    }
    let reply: Reply;
    try {
      reply = await options.route(request);
    } catch (e) {
      send(res, 500, {}, JSON.stringify({ error: String(e) }));
      return;
    }
    const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? null);
    if (fault?.kind === 'malformed') {
      send(res, 200, reply.headers ?? {}, text.slice(0, Math.max(1, Math.floor(text.length / 2))) + '\u0000}');
      return;
    }
    if (fault?.kind === 'truncate') {
      const bytes = Buffer.from(text);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(bytes.length), ...reply.headers });
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => res.destroy());
      return;
    }
    send(res, reply.status ?? 200, reply.headers ?? {}, text);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    reset() {
      Object.assign(stats, { requests: 0, faults: 0, overLimit: 0, peakPerSecond: 0, peakConcurrency: 0, log: [] });
      arrivals.length = 0;
    },
    close: () => new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, text: string): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(text);
}

/** A small deterministic generator, so a fault mix is the same on every run. */
export const seededRandom = random;

/** Records `offset`..`offset+limit` of a generated collection of `total` (`{id, name, updated_at}`). */
export function offsetPage(total: number, offset: number, limit: number): { id: number; name: string; updated_at: string }[] {
  const out = [];
  for (let i = offset; i < Math.min(total, offset + limit); i++) {
    out.push({ id: i + 1, name: `record ${i + 1}`, updated_at: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString() });
  }
  return out;
}
