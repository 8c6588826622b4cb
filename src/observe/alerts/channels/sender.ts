// A channel's sender: delivers one alert body or throws (a DeliveryError, or any error); the outbox retries.
import type { AlertBody } from '../alerter.js';

export interface SendContext {
  /** The outbox delivery id: the same on every attempt of one delivery. */
  deliveryId: number;
  /** Aborts a slow receiver (the outbox's timeout). */
  signal: AbortSignal;
  /** The outbox's clock. */
  now: Date;
}

export type Sender = (body: AlertBody, ctx: SendContext) => Promise<void>;

/** `FIRING` / `RESOLVED`: how text channels (Slack, email) head an alert. */
export const stateWord = (body: AlertBody): string => (body.event === 'alert.firing' ? 'FIRING' : 'RESOLVED');

/** `pipeline` or `pipeline/stream`. */
export const where = (body: AlertBody): string => (body.stream ? `${body.pipeline}/${body.stream}` : body.pipeline);
