// Per-host admission: a request-rate limit, a concurrency limit and a pause (a 429/503 `Retry-After` stops every
// request to the host, not only the one that got it). Every attempt, retries included, passes through here, so the
// limits hold whatever the retries do.
//
// The rate limit is a token bucket of N tokens whose tokens come back one window after the request that took one has
// *finished*. A request reaches the server somewhere between being admitted and its answer arriving, so two requests
// sharing a token are always more than a window apart at the server: whatever the latency, and however late a busy
// event loop actually writes a request, a server counting requests over any one-second span never sees more than
// `requests_per_second`. (A refilling bucket allows 2N in a window straddling a refill; a window of start times
// breaks as soon as a request leaves late.) The cost is one round trip per token per window: small on loopback,
// about latency/1 s of the rate on a distant API.

export interface RateLimitOptions {
  requests_per_second?: number;
  concurrency: number;
}

/** Timers fire a little early or late; a token comes back this much after its window to be safe. */
export const WINDOW_GUARD_MS = 2;

interface Waiter {
  grant: () => void;
  fail: (e: unknown) => void;
}

export class HostLimiter {
  private readonly perWindow: number;
  private readonly windowMs: number;
  /** When recently finished requests finished (performance.now), oldest first: their tokens are still out. */
  private readonly finished: number[] = [];
  private active = 0;
  private readonly waiters: Waiter[] = [];
  private pausedUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;

  constructor(private readonly options: RateLimitOptions) {
    const rps = options.requests_per_second;
    // Fractional rates (0.5/s) become one request per 2 s; 2.5/s becomes 2 per 800 ms.
    this.perWindow = rps ? Math.max(1, Math.floor(rps)) : Infinity;
    this.windowMs = rps ? (1000 * this.perWindow) / rps + WINDOW_GUARD_MS : 0;
  }

  /** Requests started or running now (for tests and stats). */
  get running(): number {
    return this.active;
  }

  /** Wait for a slot; the returned function releases it (call it once the response body is read). */
  acquire(signal?: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      let released = false;
      const release = (): void => {
        if (released) return;
        released = true;
        this.active--;
        if (this.perWindow !== Infinity) this.finished.push(performance.now());
        this.pump();
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve(release);
        },
        fail: reject,
      };
      const onAbort = (): void => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
      this.pump();
    });
  }

  /** Stop admitting requests to this host for `ms` (a `Retry-After` from the server). */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, performance.now() + ms);
  }

  private pump(): void {
    while (this.waiters.length > 0) {
      const now = performance.now();
      if (now < this.pausedUntil) {
        this.wakeAt(this.pausedUntil);
        return;
      }
      if (this.active >= this.options.concurrency) return; // a release pumps again
      if (this.perWindow !== Infinity) {
        while (this.finished.length > 0 && this.finished[0] + this.windowMs <= now) this.finished.shift();
        // Tokens out: one per running request, one per request finished less than a window ago.
        if (this.active + this.finished.length >= this.perWindow) {
          if (this.finished.length > 0) this.wakeAt(this.finished[0] + this.windowMs);
          return; // else every token is held by a running request, and its release pumps
        }
      }
      this.active++;
      this.waiters.shift()!.grant();
    }
  }

  private wakeAt(at: number): void {
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, Math.max(0, Math.ceil(at - performance.now())));
  }
}
