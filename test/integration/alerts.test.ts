// Alerts end to end against real receivers on loopback: Slack, webhook and PagerDuty as node:http servers, email
// through an SMTP server, the outbox in the SQLite control store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import type { RunSummary } from '../../src/engine/runner.js';
import { loadAlerts, type AlertsConfig } from '../../src/config/alerts-spec.js';
import { Alerter } from '../../src/observe/alerts/alerter.js';
import { Outbox } from '../../src/observe/alerts/deliver.js';
import type { PipelineSnapshot } from '../../src/observe/alerts/rules.js';
import { capturingLogger, tempDir } from '../helpers.js';

interface Received {
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** An HTTP receiver that records each request and answers with the next scripted status (then `otherwise`). */
async function receiver(opts: { statuses?: number[]; otherwise?: number; answer?: (r: Received) => string; port?: number; silent?: boolean } = {}) {
  const requests: Received[] = [];
  const statuses = [...(opts.statuses ?? [])];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const r = { url: req.url ?? '', headers: req.headers, body };
      requests.push(r);
      if (opts.silent) return; // never answers: the sender's timeout must end the attempt
      res.writeHead(statuses.shift() ?? opts.otherwise ?? 200, { 'content-type': 'text/plain' });
      res.end(opts.answer?.(r) ?? 'ok');
    });
  });
  await new Promise<void>((done) => server.listen(opts.port ?? 0, '127.0.0.1', done));
  const port = (server.address() as AddressInfo).port;
  return {
    port, requests, url: (path = '/') => `http://127.0.0.1:${port}${path}`,
    close: () => new Promise<void>((done) => {
      server.closeAllConnections();
      server.close(() => done());
    }),
  };
}

/** A port nothing listens on (a server opened and closed). */
async function closedPort(): Promise<number> {
  const r = await receiver();
  await r.close();
  return r.port;
}

const failedRun = (runId = 'run-1'): RunSummary => ({
  run_id: runId, pipeline: 'orders', status: 'failed', started_at: '2025-01-01T00:00:00Z', finished_at: '2025-01-01T00:01:00Z',
  duration_ms: 60_000, phases: [], streams: {}, quality: { score: null }, error: 'source refused the connection',
});
const okRun = (runId = 'run-2'): RunSummary => ({ ...failedRun(runId), status: 'success', error: undefined });
const snapshot = (lastRun?: RunSummary): PipelineSnapshot => ({
  pipeline: 'orders', ...(lastRun ? { lastRun } : {}), recent: { runs: 1, success_rate: 0, mean_duration_ms: 1 }, dlqRows: 0,
});

/** A store in a temp dir, a clock the test moves, and the Alerter and Outbox over `alerts`. */
function harness(alerts: unknown) {
  const { dir, cleanup } = tempDir('sluice-alerts-');
  const store = new SqliteControlStore(dir);
  const config: AlertsConfig = loadAlerts(alerts);
  const { logger, lines } = capturingLogger('debug');
  // The store stamps new deliveries due at the real time, so the test clock starts a little after it.
  let clock = Date.now() + 5_000;
  const now = () => new Date(clock);
  const alerter = new Alerter(store, config, { logger, now });
  const outbox = new Outbox(store, config.channels, { logger, now, timeoutMs: 1_000 });
  return {
    store, alerter, outbox, lines,
    advance: (ms: number) => (clock += ms),
    close: async () => {
      await outbox.stop();
      await store.close();
      cleanup();
    },
  };
}

const MIN = 60_000;
const WEBHOOK_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

test('an alert fires once, is suppressed, repeats after `repeat`, and resolves, on webhook, PagerDuty and Slack', async () => {
  const hook = await receiver();
  const pd = await receiver({ otherwise: 202 });
  const slack = await receiver();
  const h = harness({
    channels: {
      hook: { type: 'webhook', url: hook.url('/hook'), secret: WEBHOOK_SECRET },
      oncall: { type: 'pagerduty', routing_key: 'pd-routing-key-111', url: pd.url('/v2/enqueue') },
      team: { type: 'slack', webhook_url: slack.url('/services/T0/B0/slack-secret-222') },
    },
    rules: [{ when: 'run_failed', channels: ['hook', 'oncall', 'team'], repeat: '1h' }],
  });
  try {
    const fired = await h.alerter.evaluate(snapshot(failedRun()));
    assert.deepEqual(fired.map((a) => [a.rule, a.action, a.deliveries.length]), [['run_failed', 'fired', 3]]);
    assert.deepEqual(await h.outbox.deliverDue(), { delivered: 3, failed: 0 });

    // Webhook: the DESIGN.md body, signed as Standard Webhooks says; the test recomputes the HMAC.
    assert.equal(hook.requests.length, 1);
    const w = hook.requests[0];
    const body = JSON.parse(w.body);
    assert.deepEqual(Object.keys(body).sort(), ['at', 'dedup_key', 'event', 'pipeline', 'rule', 'run_id', 'severity', 'summary']);
    assert.equal(body.event, 'alert.firing');
    assert.equal(body.rule, 'run_failed');
    assert.equal(body.run_id, 'run-1');
    assert.equal(body.severity, 'critical');
    assert.equal(body.summary, 'orders: run run-1 failed: source refused the connection');
    assert.equal(w.headers['webhook-id'], String(fired[0].deliveries[0]));
    const key = Buffer.from(WEBHOOK_SECRET.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`${String(w.headers['webhook-id'])}.${String(w.headers['webhook-timestamp'])}.${w.body}`).digest('base64');
    assert.equal(w.headers['webhook-signature'], `v1,${expected}`);
    assert.ok(Math.abs(Number(w.headers['webhook-timestamp']) - Date.now() / 1000) < 60);

    // PagerDuty: a trigger under the alert's dedup_key.
    const trigger = JSON.parse(pd.requests[0].body);
    assert.deepEqual(
      { ...trigger, payload: { ...trigger.payload, custom_details: undefined } },
      {
        routing_key: 'pd-routing-key-111', event_action: 'trigger', dedup_key: body.dedup_key,
        payload: { summary: body.summary, source: 'orders', severity: 'critical', custom_details: undefined },
      },
    );
    assert.match(JSON.parse(slack.requests[0].body).text, /^\*FIRING\* \[critical\] orders · run_failed \(run run-1\)\norders: run run-1 failed/);

    // Still failing ten minutes later: nothing new.
    h.advance(10 * MIN);
    assert.deepEqual(await h.alerter.evaluate(snapshot(failedRun('run-1b'))), []);
    assert.deepEqual(await h.outbox.deliverDue(), { delivered: 0, failed: 0 });
    assert.equal((await h.store.listDeliveries({})).length, 3);
    assert.equal(hook.requests.length, 1);

    // An hour after the first send: sent again.
    h.advance(51 * MIN);
    const repeated = await h.alerter.evaluate(snapshot(failedRun('run-1c')));
    assert.deepEqual(repeated.map((a) => a.action), ['repeated']);
    await h.outbox.deliverDue();
    assert.equal(hook.requests.length, 2);
    assert.equal(JSON.parse(hook.requests[1].body).run_id, 'run-1c');
    assert.equal(pd.requests.length, 2);

    // The next run succeeds: resolved, once, under the same dedup_key.
    h.advance(MIN);
    assert.deepEqual((await h.alerter.evaluate(snapshot(okRun()))).map((a) => a.action), ['resolved']);
    assert.deepEqual(await h.alerter.evaluate(snapshot(okRun('run-3'))), []);
    assert.deepEqual(await h.outbox.deliverDue(), { delivered: 3, failed: 0 });
    const resolved = JSON.parse(hook.requests[2].body);
    assert.equal(resolved.event, 'alert.resolved');
    assert.equal(resolved.dedup_key, body.dedup_key);
    assert.deepEqual(JSON.parse(pd.requests[2].body), { routing_key: 'pd-routing-key-111', event_action: 'resolve', dedup_key: body.dedup_key });
    assert.match(JSON.parse(slack.requests[2].body).text, /^\*RESOLVED\* \[critical\] orders · run_failed/);

    const [state] = await h.store.listAlerts({});
    assert.equal(state.status, 'resolved');
    assert.equal(state.dedupKey, body.dedup_key);
    const audit = await h.store.listAudit({ pipeline: 'orders' });
    assert.deepEqual(audit.map((a) => a.action), ['alert.sent', 'alert.sent', 'alert.resolved']);
    assert.equal(audit[0].runId, 'run-1');
    assert.deepEqual(audit[0].detail.channels, ['hook', 'oncall', 'team']);
    assert.equal((await h.store.listDeliveries({ pending: true })).length, 0);
    assert.equal((await h.store.listDeliveries({})).length, 9);
  } finally {
    await h.close();
    await Promise.all([hook.close(), pd.close(), slack.close()]);
  }
});

test('an email alert arrives over SMTP with its subject and body', async () => {
  const mails: { from: string; to: string[]; text: string; user?: string }[] = [];
  const smtp = new SMTPServer({
    authOptional: true, allowInsecureAuth: true, disabledCommands: ['STARTTLS'], logger: false,
    onAuth(auth, _session, done) {
      done(auth.username === 'etl' && auth.password === 'smtp-pass-333' ? null : new Error('bad login'), { user: auth.username });
    },
    onData(stream, session, done) {
      let text = '';
      stream.on('data', (d) => (text += d));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address),
          text, user: session.user as string | undefined,
        });
        done();
      });
    },
  });
  await new Promise<void>((done) => smtp.listen(0, '127.0.0.1', done));
  const port = (smtp.server.address() as AddressInfo).port;
  const h = harness({
    channels: { mail: { type: 'email', smtp_url: `smtp://etl:smtp-pass-333@127.0.0.1:${port}`, from: 'etl@example.org', to: ['data@example.org'] } },
    rules: [{ when: 'quality_below', threshold: 90, channels: ['mail'] }],
  });
  try {
    await h.alerter.evaluate(snapshot({ ...okRun(), quality: { score: 72 } }));
    assert.deepEqual(await h.outbox.deliverDue(), { delivered: 1, failed: 0 });
    assert.equal(mails.length, 1);
    assert.equal(mails[0].from, 'etl@example.org');
    assert.deepEqual(mails[0].to, ['data@example.org']);
    assert.equal(mails[0].user, 'etl');
    const unfolded = mails[0].text.replace(/\r?\n[ \t]/g, ' ');
    assert.match(unfolded, /^Subject: \[sluice\] FIRING orders: orders: quality score 72 is below 90 \(run run-2\)\r?$/m);
    assert.match(unfolded, /^rule: quality_below:90\r?$/m);
    assert.match(unfolded, /^severity: warning\r?$/m);
    assert.ok(!h.lines.join('').includes('smtp-pass-333'));
  } finally {
    await h.close();
    await new Promise<void>((done) => smtp.close(() => done()));
  }
});

test('a receiver that fails twice gets the delivery on the third attempt, after backoff, under the same webhook-id', async () => {
  const hook = await receiver({ statuses: [500, 500] });
  const h = harness({
    channels: { hook: { type: 'webhook', url: hook.url(), secret: 'a-raw-secret-444' } },
    rules: [{ when: 'run_failed', channels: ['hook'] }],
  });
  try {
    await h.alerter.evaluate(snapshot(failedRun()));
    assert.deepEqual(await h.outbox.deliverDue(), { delivered: 0, failed: 1 });
    let [d] = await h.store.listDeliveries({});
    assert.deepEqual([d.attempts, d.deliveredAt, d.lastError], [1, null, 'HTTP 500: ok']);
    // Not due again before its backoff.
    assert.deepEqual(await h.outbox.deliverDue(), { delivered: 0, failed: 0 });
    assert.equal(hook.requests.length, 1);
    h.advance(11 * MIN);
    assert.deepEqual(await h.outbox.deliverDue(), { delivered: 0, failed: 1 });
    h.advance(11 * MIN);
    assert.deepEqual(await h.outbox.deliverDue(), { delivered: 1, failed: 0 });
    [d] = await h.store.listDeliveries({});
    assert.equal(d.attempts, 3);
    assert.notEqual(d.deliveredAt, null);
    assert.equal(d.lastError, null);
    assert.equal(hook.requests.length, 3);
    assert.deepEqual(new Set(hook.requests.map((r) => r.headers['webhook-id'])), new Set([String(d.id)]));
    // A raw (non-whsec_) secret signs with its UTF-8 bytes.
    const last = hook.requests[2];
    const sig = createHmac('sha256', 'a-raw-secret-444').update(`${String(last.headers['webhook-id'])}.${String(last.headers['webhook-timestamp'])}.${last.body}`).digest('base64');
    assert.equal(last.headers['webhook-signature'], `v1,${sig}`);
  } finally {
    await h.close();
    await hook.close();
  }
});

test('a receiver that is down delays deliveries; once it is up they are all delivered, in order', async () => {
  const port = await closedPort();
  const h = harness({
    channels: { team: { type: 'slack', webhook_url: `http://127.0.0.1:${port}/services/T/B/down-555` } },
    rules: [{ when: 'run_failed', channels: ['team'] }],
  });
  let up: Awaited<ReturnType<typeof receiver>> | undefined;
  try {
    await h.alerter.evaluate(snapshot(failedRun()));
    await h.alerter.evaluate(snapshot(okRun()));
    assert.deepEqual(await h.outbox.deliverDue(), { delivered: 0, failed: 1 }, 'the second waits behind the first');
    const pending = await h.store.listDeliveries({ pending: true });
    assert.equal(pending.length, 2);
    assert.match(pending.find((d) => d.attempts === 1)!.lastError!, /ECONNREFUSED/);

    up = await receiver({ port });
    h.advance(11 * MIN);
    assert.deepEqual(await h.outbox.deliverDue(), { delivered: 2, failed: 0 });
    assert.deepEqual(up.requests.map((r) => JSON.parse(r.body).text.split(' ')[0]), ['*FIRING*', '*RESOLVED*']);
    assert.equal((await h.store.listDeliveries({ pending: true })).length, 0);
  } finally {
    await h.close();
    await up?.close();
  }
});

test('a receiver that never answers times out; the outbox loop runs on its own timer and stops cleanly', async () => {
  const slow = await receiver({ silent: true });
  const h = harness({
    channels: { hook: { type: 'webhook', url: slow.url(), secret: WEBHOOK_SECRET } },
    rules: [{ when: 'pipeline_invalid', channels: ['hook'] }],
  });
  try {
    await h.alerter.evaluate({ ...snapshot(), invalid: 'sources: required key is missing' });
    const started = Date.now();
    h.outbox.start(50);
    while ((await h.store.listDeliveries({}))[0].attempts === 0) {
      assert.ok(Date.now() - started < 5_000, 'the loop never attempted the delivery');
      await new Promise((r) => setTimeout(r, 20));
    }
    await h.outbox.stop();
    const [d] = await h.store.listDeliveries({});
    assert.equal(d.lastError, 'timed out');
    assert.equal(d.deliveredAt, null);
    assert.ok(Date.now() - started >= 900, 'the attempt waited for the timeout');
  } finally {
    await h.close();
    await slow.close();
  }
});

test('secrets echoed by receivers never reach lastError, the logs or the audit trail', async () => {
  // Slack answers 500 quoting the request path (the webhook URL's secret part); PagerDuty answers 400 quoting the event.
  const slack = await receiver({ otherwise: 500, answer: (r) => `no such hook ${r.url}` });
  const pd = await receiver({ otherwise: 400, answer: (r) => `invalid event ${r.body}` });
  const h = harness({
    channels: {
      team: { type: 'slack', webhook_url: slack.url('/services/T9/B9/slack-hook-secret-666') },
      oncall: { type: 'pagerduty', routing_key: 'pd-routing-secret-777', url: pd.url() },
    },
    rules: [{ when: 'run_failed', channels: ['team', 'oncall'] }],
  });
  try {
    await h.alerter.evaluate(snapshot(failedRun()));
    assert.deepEqual(await h.outbox.deliverDue(), { delivered: 0, failed: 2 });
    assert.ok(slack.requests[0].url.includes('slack-hook-secret-666'), 'the receiver did get the secret path');
    const errors = (await h.store.listDeliveries({})).map((d) => d.lastError ?? '').sort();
    assert.equal(errors.length, 2);
    assert.match(errors[0], /^HTTP 400: invalid event \{"routing_key":"\*\*\*"/);
    assert.equal(errors[1], 'HTTP 500: no such hook ***');
    const text = [...errors, ...h.lines, JSON.stringify(await h.store.listAudit({}))].join('\n');
    for (const secret of ['slack-hook-secret-666', 'pd-routing-secret-777']) assert.ok(!text.includes(secret), `${secret} leaked`);
    // The malformed PagerDuty event is logged as an error, and kept for another try.
    const malformed = h.lines.map((l) => JSON.parse(l) as { level: number; msg: string; channel?: string }).filter((l) => l.channel === 'oncall');
    assert.deepEqual(malformed.map((l) => [l.level, l.msg]), [[50, 'alert delivery refused as malformed; kept and retried with backoff']]);
    assert.equal((await h.store.listDeliveries({ pending: true })).length, 2);
  } finally {
    await h.close();
    await Promise.all([slack.close(), pd.close()]);
  }
});
