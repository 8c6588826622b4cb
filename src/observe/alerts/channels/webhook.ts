// The `webhook` channel: the alert body as JSON, signed the Standard Webhooks way (standardwebhooks.com): headers
// webhook-id (the delivery id, the same on every retry), webhook-timestamp (unix seconds) and
// webhook-signature `v1,<base64 HMAC-SHA256(key, id.timestamp.body)>`.
import { createHmac } from 'node:crypto';
import { webhookKey } from '../../../config/alerts-spec.js';
import { postJson } from './post-json.js';
import type { Sender } from './sender.js';

export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', webhookKey(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

export const webhookSender = (url: string, secret: string): Sender => (body, { deliveryId, signal, now }) => {
  const id = String(deliveryId);
  const timestamp = Math.floor(now.getTime() / 1000);
  const text = JSON.stringify(body);
  const headers = { 'webhook-id': id, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, id, timestamp, text) };
  return postJson(url, text, { signal, headers });
};
