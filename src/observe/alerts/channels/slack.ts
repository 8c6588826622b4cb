// The `slack` channel: an incoming webhook, `{text}`.
import { postJson } from './post-json.js';
import { stateWord, where, type Sender } from './sender.js';

export const slackSender = (webhookUrl: string): Sender => (body, { signal }) => {
  const run = body.run_id ? ` (run ${body.run_id})` : '';
  const text = `*${stateWord(body)}* [${body.severity}] ${where(body)} · ${body.rule}${run}\n${body.summary}`;
  return postJson(webhookUrl, JSON.stringify({ text }), { signal });
};
