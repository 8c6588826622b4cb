// The `log` channel: the alert as a warning in the service's log.
import type { Logger } from '../../../core/logger.js';
import type { Sender } from './sender.js';

export const logSender = (logger: Logger): Sender => async (body) => {
  logger.warn({ alert: body }, `${body.event} ${body.rule} ${body.pipeline}: ${body.summary}`);
};
