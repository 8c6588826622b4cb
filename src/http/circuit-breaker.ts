// Per-host circuit breaker: after `failures` consecutive transient failures the host is considered down and requests
// fail fast for `reset_ms` instead of adding load to a struggling server; then one probe request is let through
// (half-open): success closes the circuit, failure opens it for another `reset_ms`.

export interface CircuitBreakerOptions {
  failures: number;
  reset_ms: number;
}

export type Admission = { ok: true } | { ok: false; retryInMs: number };

export class CircuitBreaker {
  private consecutive = 0;
  private openedAt: number | undefined;
  private probing = false;

  constructor(private readonly options: CircuitBreakerOptions) {}

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.openedAt === undefined) return 'closed';
    return performance.now() - this.openedAt >= this.options.reset_ms ? 'half-open' : 'open';
  }

  /** May a request go out now? While open, says when to ask again. */
  admit(): Admission {
    if (this.openedAt === undefined) return { ok: true };
    const waited = performance.now() - this.openedAt;
    if (waited < this.options.reset_ms) return { ok: false, retryInMs: this.options.reset_ms - waited };
    if (this.probing) return { ok: false, retryInMs: Math.min(this.options.reset_ms, 250) };
    this.probing = true;
    return { ok: true };
  }

  success(): void {
    this.consecutive = 0;
    this.openedAt = undefined;
    this.probing = false;
  }

  /** Returns true when this failure opened (or re-opened) the circuit. */
  failure(): boolean {
    this.consecutive++;
    if (this.probing || (this.openedAt === undefined && this.consecutive >= this.options.failures)) {
      this.probing = false;
      this.openedAt = performance.now();
      return true;
    }
    return false;
  }

  /** A request that ended without a verdict on the host (cancelled, a client error): frees the probe slot. */
  neutral(): void {
    this.probing = false;
  }
}
