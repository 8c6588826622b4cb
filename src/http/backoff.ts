// Retry timing: exponential backoff with full jitter (a uniformly random wait between 0 and the exponential cap, so
// clients that failed together do not retry together), and the server's own `Retry-After`, which always wins.

export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  initial_ms: number;
  max_ms: number;
  /** A `Retry-After` longer than this fails the request instead of stalling the run. */
  max_retry_after_ms: number;
}

/** Wait before retry number `retry` (1 = the first retry): random in [0, min(max, initial·2^(retry-1))]. */
export function backoffMs(policy: Pick<RetryPolicy, 'initial_ms' | 'max_ms'>, retry: number, random = Math.random): number {
  const cap = Math.min(policy.max_ms, policy.initial_ms * 2 ** Math.max(0, retry - 1));
  return Math.round(random() * cap);
}

/**
 * `Retry-After` as milliseconds from `now`: delay-seconds (`120`) or an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`).
 * Undefined when absent or unreadable; a date in the past means "now" (0).
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** Sleep that ends early (rejecting with the signal's reason) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
