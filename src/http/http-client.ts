// The one way HTTP sources talk to servers: Node's fetch, wrapped in a per-host limiter (rate + concurrency +
// Retry-After pause), a per-host circuit breaker, per-attempt timeouts, retries with exponential backoff and full
// jitter, and authentication (with an OAuth2 token refreshed on expiry or 401).
//
// What counts as transient (retried): network errors (reset, refused, dropped socket), timeouts, 408, 429, 5xx, a
// body cut short (a truncated body is a transport failure, not an empty page) and a body that is not valid JSON when
// JSON was asked for. Anything else (400, 403, 404, …) fails at once. When retries run out the request fails with a
// RunError naming the URL, the attempts and the last cause: a page is never silently skipped.
import type { Logger } from '../core/logger.js';
import { RunError, TransientError, errorMessage } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { Auth, registerSecretHeaders, type Credentials } from './auth.js';
import { backoffMs, parseRetryAfter, sleep, type RetryPolicy } from './backoff.js';
import { CircuitBreaker } from './circuit-breaker.js';
import { HostLimiter } from './host-limiter.js';
import type { HttpConnectionOptions } from './http-options.js';
import { parseJson } from '../core/values/json-parse.js';

export interface HttpRequest {
  url: URL;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  /** Skip authentication (the OAuth2 token request itself). */
  anonymous?: boolean;
  /** How to read a 2xx body (default JSON); a throw is a malformed body, retried like a truncated one. */
  parse?: (text: string, url: string) => unknown;
  /** The Accept header (default application/json). */
  accept?: string;
}

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
  /** Attempts it took (1 = no retry). */
  attempts: number;
}

export interface HttpStats {
  requests: number;
  retries: number;
  throttled: number;
}

/** A non-transient HTTP failure (a 4xx): retrying would get the same answer. */
export class HttpStatusError extends RunError {
  override name = 'HttpStatusError';
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** The host's circuit is open: the attempt never reached the server. */
export class CircuitOpenError extends TransientError {
  override name = 'CircuitOpenError';
}

interface HostState {
  limiter: HostLimiter;
  breaker: CircuitBreaker;
  /** Why the last attempt on this host failed: an open circuit says what opened it. */
  lastFailure?: string;
}

const ABANDON_GUARD_MS = 100;

const TRANSIENT_STATUS = new Set([408, 425, 429, 500, 502, 503, 504]);

export class HttpClient {
  readonly stats: HttpStats = { requests: 0, retries: 0, throttled: 0 };
  private readonly hosts = new Map<string, HostState>();
  private readonly auth: Auth;
  private readonly retry: RetryPolicy;

  constructor(private readonly options: HttpConnectionOptions, private readonly logger?: Logger) {
    this.retry = options.retry;
    registerSecretHeaders(options.headers);
    this.auth = new Auth(options.auth, async (url, body, headers) =>
      (await this.json({ url, method: 'POST', body: body.toString(), headers, anonymous: true })).body);
  }

  /** Send a request and parse its JSON body, retrying transient failures. */
  async json(req: HttpRequest, signal?: AbortSignal): Promise<JsonResponse> {
    const host = this.host(req.url);
    const shown = req.url.toString();
    let authRetried = false;
    let last: unknown;
    for (let attempt = 1; attempt <= this.retry.attempts; attempt++) {
      signal?.throwIfAborted();
      let waitMs: number | undefined;
      try {
        const r = await this.attempt(req, host, signal);
        if (r.status === 401 && this.auth.refreshable && !req.anonymous && !authRetried) {
          // An expired or revoked token: fetch a new one and try again once, without spending a retry.
          authRetried = true;
          this.auth.invalidate(r.credentials);
          attempt--;
          continue;
        }
        if (r.status >= 200 && r.status < 300) return { status: r.status, headers: r.headers, body: r.body, attempts: attempt };
        throw new HttpStatusError(`${req.method ?? 'GET'} ${shown} answered HTTP ${r.status}${r.snippet ? `: ${r.snippet}` : ''}`, r.status);
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        if (!(e instanceof TransientError)) throw redactError(e);
        if (!(e instanceof CircuitOpenError)) host.lastFailure = e.message;
        if (e instanceof CircuitOpenError && (e.retryAfterMs ?? 0) > this.retry.max_ms) {
          // The host is down for longer than any backoff would wait: fail now rather than spin on a closed door.
          throw new RunError(redact(`${req.method ?? 'GET'} ${shown}: ${e.message}; the circuit stays open for another ${Math.ceil((e.retryAfterMs ?? 0) / 1000)} s`), undefined, { cause: e });
        }
        last = e;
        // Timers count whole milliseconds (a fraction is cut off), so a wait for an open circuit could end just before
        // it half-opens and spend an attempt on the same closed door.
        waitMs = e.retryAfterMs === undefined ? undefined : Math.ceil(e.retryAfterMs) + (e instanceof CircuitOpenError ? 1 : 0);
      }
      if (attempt === this.retry.attempts) break;
      if (waitMs !== undefined && waitMs > this.retry.max_retry_after_ms) {
        throw new RunError(redact(`${req.method ?? 'GET'} ${shown}: the server asked to wait ${Math.round(waitMs / 1000)} s (Retry-After), more than retry.max_retry_after_ms`));
      }
      const wait = waitMs ?? backoffMs(this.retry, attempt);
      this.stats.retries++;
      this.logger?.info({ url: shown, attempt, wait_ms: wait, error: redact(errorMessage(last)) }, 'request failed; retrying');
      await sleep(wait, signal);
    }
    throw new RunError(redact(`${req.method ?? 'GET'} ${shown} failed after ${this.retry.attempts} attempt(s): ${errorMessage(last)}`), undefined, { cause: last });
  }

  /** One attempt: admission (breaker, limiter), the request, the whole body. Transient failures throw TransientError. */
  private async attempt(req: HttpRequest, host: HostState, signal?: AbortSignal): Promise<{
    status: number; headers: Headers; body?: unknown; snippet?: string; credentials: Credentials;
  }> {
    let verdict: 'success' | 'failure' | 'neutral' = 'neutral';
    // Credentials before a slot: an OAuth2 token request on the same host needs a slot of its own.
    const credentials: Credentials = req.anonymous ? { headers: {}, query: {} } : await this.auth.credentials(signal);
    const release = await host.limiter.acquire(signal);
    // The breaker is asked once the slot is ours: requests queued behind a failing one must not slip past it.
    const admitted = host.breaker.admit();
    if (!admitted.ok) {
      release();
      throw new CircuitOpenError(`circuit breaker open for ${req.url.host} after ${this.options.circuit_breaker.failures} consecutive failures (last: ${host.lastFailure ?? 'unknown'})`, admitted.retryInMs);
    }
    let abandoned = false;
    try {
      const url = new URL(req.url);
      for (const [k, v] of Object.entries(credentials.query)) url.searchParams.set(k, v);
      const timeout = AbortSignal.timeout(this.options.timeout_ms);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      this.stats.requests++;
      let res: Response;
      let text: string;
      try {
        res = await fetch(url, {
          method: req.method ?? 'GET',
          headers: { accept: req.accept ?? 'application/json', ...this.options.headers, ...req.headers, ...credentials.headers },
          body: req.body,
          signal: combined,
          redirect: 'follow',
        });
        text = await res.text();
      } catch (e) {
        abandoned = signal?.aborted === true || timeout.aborted;
        if (signal?.aborted) throw e;
        verdict = 'failure';
        if (timeout.aborted) throw new TransientError(`timed out after ${this.options.timeout_ms} ms`);
        throw new TransientError(networkMessage(e), undefined, { cause: e });
      }
      const status = res.status;
      if (TRANSIENT_STATUS.has(status)) {
        const retryAfter = status === 429 || status === 503 ? parseRetryAfter(res.headers.get('retry-after')) : undefined;
        if (status === 429) {
          this.stats.throttled++;
          verdict = 'neutral'; // the host is healthy, it asks us to slow down
        } else verdict = 'failure';
        if (retryAfter !== undefined) host.limiter.pause(retryAfter);
        throw new TransientError(`HTTP ${status}${retryAfter !== undefined ? ` (Retry-After ${retryAfter} ms)` : ''}`, retryAfter);
      }
      if (status < 200 || status >= 300) {
        verdict = 'neutral';
        return { status, headers: res.headers, snippet: snippet(text), credentials };
      }
      if (text.trim() === '' && status === 204) {
        verdict = 'success';
        return { status, headers: res.headers, body: null, credentials };
      }
      let body: unknown;
      try {
        body = req.parse ? req.parse(text, url.pathname) : parseJson(text);
      } catch (e) {
        verdict = 'failure';
        throw new TransientError(`malformed ${req.parse ? '' : 'JSON '}body (${text.length} characters: ${errorMessage(e)})`);
      }
      verdict = 'success';
      return { status, headers: res.headers, body, credentials };
    } finally {
      // A request we gave up on (timeout, cancel) is still running at the server until the connection's close reaches
      // it; a new request on another connection could get there first. Its slot is kept a moment longer so the
      // server never sees more than `concurrency` at once.
      if (abandoned) setTimeout(release, ABANDON_GUARD_MS);
      else release();
      if (verdict === 'success') host.breaker.success();
      else if (verdict === 'failure') {
        if (host.breaker.failure()) this.logger?.warn({ host: req.url.host, reset_ms: this.options.circuit_breaker.reset_ms }, 'circuit breaker opened');
      } else host.breaker.neutral();
    }
  }

  private host(url: URL): HostState {
    let h = this.hosts.get(url.host);
    if (!h) {
      h = { limiter: new HostLimiter(this.options.rate_limit), breaker: new CircuitBreaker(this.options.circuit_breaker) };
      this.hosts.set(url.host, h);
    }
    return h;
  }
}

/** The useful part of a fetch failure: undici hides the socket error in `cause`. */
function networkMessage(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const detail = cause?.code ?? cause?.message;
  const base = errorMessage(e);
  if (base === 'terminated') return `connection closed before the body was complete (truncated body${detail ? `: ${detail}` : ''})`;
  return detail ? `${base} (${detail})` : base;
}

const snippet = (text: string): string => redact(text.replace(/\s+/g, ' ').trim().slice(0, 200));

function redactError(e: unknown): unknown {
  if (e instanceof Error) e.message = redact(e.message);
  return e;
}
