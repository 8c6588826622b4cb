// The `email` channel: one message per alert over SMTP (nodemailer), the SMTP URL's password never shown.
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { DeliveryError } from './post-json.js';
import { stateWord, where, type Sender } from './sender.js';

export interface EmailOptions {
  smtp_url: string;
  from: string;
  to: string[];
  subject_prefix: string;
}

export function emailSender(opts: EmailOptions, timeoutMs: number): Sender {
  const transport = nodemailer.createTransport({
    url: opts.smtp_url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs,
  } satisfies SMTPTransport.Options);
  return async (body, { signal }) => {
    const subject = `${opts.subject_prefix ? `${opts.subject_prefix} ` : ''}${stateWord(body)} ${where(body)}: ${body.summary}`.slice(0, 200);
    const lines = [
      body.summary, '', `event: ${body.event}`, `rule: ${body.rule}`, `pipeline: ${body.pipeline}`,
      ...(body.stream ? [`stream: ${body.stream}`] : []), `severity: ${body.severity}`,
      ...(body.run_id ? [`run: ${body.run_id}`] : []), `at: ${body.at}`, `dedup_key: ${body.dedup_key}`,
    ];
    const aborted = new Promise<never>((_, fail) => signal.addEventListener('abort', () => fail(new DeliveryError('timed out')), { once: true }));
    try {
      await Promise.race([transport.sendMail({ from: opts.from, to: opts.to, subject, text: `${lines.join('\n')}\n` }), aborted]);
    } catch (e) {
      if (e instanceof DeliveryError) throw e;
      const err = e as Error & { code?: string; responseCode?: number };
      throw new DeliveryError(`SMTP ${err.code ?? 'error'}${err.responseCode ? ` ${err.responseCode}` : ''}: ${err.message}`);
    }
  };
}
