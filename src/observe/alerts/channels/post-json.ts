// What the HTTP channels (Slack, webhook, PagerDuty) share: one POST of a JSON text, a non-2xx answer or a network
// error thrown as a DeliveryError that names no URL (the outbox redacts its message again before keeping it).

/** A delivery that did not go through; `malformed` when the receiver says retrying the same body cannot help. */
export class DeliveryError extends Error {
  constructor(message: string, readonly status?: number, readonly malformed = false) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** The reason of a failed fetch: a timeout, or the network error under `fetch failed`. */
export function fetchFailure(e: unknown): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return 'timed out';
  return err?.cause?.code ? `${err.cause.code}${err.cause.message ? ` (${err.cause.message})` : ''}` : String(err?.message ?? e);
}

/** POSTs `body` (JSON text) and returns on a 2xx; throws a DeliveryError with the status and the answer's start. */
export async function postJson(
  url: string, body: string, opts: { signal: AbortSignal; headers?: Record<string, string>; malformed?: (status: number) => boolean },
): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST', body, signal: opts.signal, headers: { 'content-type': 'application/json', ...opts.headers },
    });
  } catch (e) {
    throw new DeliveryError(fetchFailure(e));
  }
  if (res.ok) {
    await res.body?.cancel();
    return;
  }
  const text = await res.text().catch(() => '');
  const answer = text.replace(/\s+/g, ' ').trim().slice(0, 300);
  throw new DeliveryError(`HTTP ${res.status}${answer ? `: ${answer}` : ''}`, res.status, opts.malformed?.(res.status) ?? false);
}
