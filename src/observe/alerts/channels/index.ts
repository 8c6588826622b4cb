// A sender per configured channel.
import type { Logger } from '../../../core/logger.js';
import type { AlertChannel } from '../../../config/alerts-spec.js';
import { emailSender } from './email.js';
import { logSender } from './log.js';
import { pagerdutySender } from './pagerduty.js';
import type { Sender } from './sender.js';
import { slackSender } from './slack.js';
import { webhookSender } from './webhook.js';

export function createSender(channel: AlertChannel, opts: { logger: Logger; timeoutMs: number }): Sender {
  switch (channel.type) {
    case 'log': return logSender(opts.logger);
    case 'slack': return slackSender(channel.webhook_url);
    case 'webhook': return webhookSender(channel.url, channel.secret);
    case 'email': return emailSender(channel, opts.timeoutMs);
    case 'pagerduty': return pagerdutySender(channel.url, channel.routing_key);
  }
}
