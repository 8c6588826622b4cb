// The outbox's delivery loop: due deliveries go to their channel's sender, each with a timeout; a failure is kept
// with its (redacted) reason and tried again after an exponential backoff. Nothing is dropped, nothing is thrown to
// the caller, and runs never wait on it: it is its own timer.
import type { Logger } from '../../core/logger.js';
import { redact, registerSecret } from '../../core/redact.js';
import type { OutboxDelivery, ServiceStore } from '../../control/service-records.js';
import type { AlertBody } from './alerter.js';
import { channelSecrets, type AlertChannel } from '../../config/alerts-spec.js';
import { createSender } from './channels/index.js';
import { DeliveryError } from './channels/post-json.js';
import type { Sender } from './channels/sender.js';

export interface OutboxOptions {
  logger: Logger;
  now?: () => Date;
  /** A channel slower than this fails the attempt (default 10 s). */
  timeoutMs?: number;
  /** Backoff: the first retry after `initialMs` (5 s), doubling to `maxMs` (10 min), less up to half at random. */
  initialMs?: number;
  maxMs?: number;
  random?: () => number;
  /** Deliveries per pass (default 100). */
  batch?: number;
}

/** The wait before retrying a delivery that has failed `attempts` times before this failure (equal jitter). */
export function retryDelayMs(attempts: number, opts: { initialMs?: number; maxMs?: number; random?: () => number } = {}): number {
  const cap = Math.min(opts.maxMs ?? 600_000, (opts.initialMs ?? 5_000) * 2 ** Math.min(attempts, 30));
  return Math.round(cap / 2 + (opts.random ?? Math.random)() * (cap / 2));
}

export interface DeliveryPass {
  delivered: number;
  failed: number;
}

export class Outbox {
  private readonly senders = new Map<string, Sender>();
  private readonly logger: Logger;
  private readonly now: () => Date;
  private readonly timeoutMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<DeliveryPass> | undefined;
  private stopped = true;

  constructor(private readonly store: ServiceStore, channels: Record<string, AlertChannel>, private readonly opts: OutboxOptions) {
    this.logger = opts.logger;
    this.now = opts.now ?? (() => new Date());
    this.timeoutMs = opts.timeoutMs ?? 10_000;
    for (const [name, channel] of Object.entries(channels)) {
      for (const s of channelSecrets(channel)) registerSecret(s);
      this.senders.set(name, createSender(channel, { logger: this.logger, timeoutMs: this.timeoutMs }));
    }
  }

  /** Delivers what is due every `intervalMs` (default 5 s) until stop(). The timer does not keep the process alive. */
  start(intervalMs = 5_000): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = () => {
      this.timer = undefined;
      if (this.stopped) return;
      void this.deliverDue().then(() => {
        if (!this.stopped) this.timer = setTimeout(tick, intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  /** Stops the loop and waits for a pass in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass over the due deliveries (a pass already in flight is joined, not doubled). Never throws. */
  deliverDue(): Promise<DeliveryPass> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<DeliveryPass> {
    const result: DeliveryPass = { delivered: 0, failed: 0 };
    let due: OutboxDelivery[];
    try {
      due = await this.store.dueDeliveries(this.now().getTime(), this.opts.batch ?? 100);
    } catch (e) {
      this.logger.error({ error: reason(e) }, 'alert outbox not readable');
      return result;
    }
    // Channels in parallel, each channel's deliveries in order; a failure stops that channel for this pass, so a
    // receiver that is down costs one timeout per pass and a resolve does not overtake its firing.
    const byChannel = new Map<string, OutboxDelivery[]>();
    for (const d of due) byChannel.set(d.channel, [...(byChannel.get(d.channel) ?? []), d]);
    await Promise.all([...byChannel].map(async ([, list]) => {
      for (const d of list) {
        if (await this.deliver(d)) result.delivered++;
        else {
          result.failed++;
          break;
        }
      }
    }));
    return result;
  }

  private async deliver(d: OutboxDelivery): Promise<boolean> {
    try {
      const sender = this.senders.get(d.channel);
      if (!sender) throw new DeliveryError(`no channel named \`${d.channel}\` is configured`);
      await sender(d.body as unknown as AlertBody, { deliveryId: d.id, signal: AbortSignal.timeout(this.timeoutMs), now: this.now() });
    } catch (e) {
      await this.failed(d, e);
      return false;
    }
    try {
      await this.store.markDelivered(d.id);
    } catch (e) {
      // Sent but not marked: it will be sent again (at least once), which beats losing it.
      this.logger.error({ channel: d.channel, delivery: d.id, error: reason(e) }, 'alert delivered but not marked delivered');
    }
    this.logger.debug({ channel: d.channel, delivery: d.id, attempts: d.attempts + 1 }, 'alert delivered');
    return true;
  }

  private async failed(d: OutboxDelivery, e: unknown): Promise<void> {
    const error = reason(e);
    const next = this.now().getTime() + retryDelayMs(d.attempts, this.opts);
    const fields = { channel: d.channel, delivery: d.id, attempts: d.attempts + 1, next_attempt_at: new Date(next).toISOString(), error };
    if (e instanceof DeliveryError && e.malformed) this.logger.error(fields, 'alert delivery refused as malformed; kept and retried with backoff');
    else this.logger.warn(fields, 'alert delivery failed; will retry');
    try {
      await this.store.markDeliveryFailed(d.id, error, next);
    } catch (err) {
      this.logger.error({ channel: d.channel, delivery: d.id, error: reason(err) }, 'alert delivery failure not recorded');
    }
  }
}

const reason = (e: unknown): string => redact(e instanceof Error ? e.message : String(e));
