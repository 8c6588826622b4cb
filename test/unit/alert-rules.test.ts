import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  loadAlerts, parseAlerts, type AlertRule, type AlertsIssue,
} from '../../src/config/alerts-spec.js';
import { evaluateRule, recentWindow, type PipelineSnapshot } from '../../src/observe/alerts/rules.js';
import { retryDelayMs } from '../../src/observe/alerts/deliver.js';
import { dedupKey } from '../../src/observe/alerts/alerter.js';
import { signWebhook } from '../../src/observe/alerts/channels/webhook.js';
import { redact } from '../../src/core/redact.js';
import type { RunSummary } from '../../src/engine/runner.js';

const now = new Date('2025-06-01T12:00:00Z');
const channels = { team: { type: 'log' } };

/** The one rule of an alerts block holding `rule` (which must be valid). */
function rule(r: Record<string, unknown>): AlertRule {
  return loadAlerts({ channels, rules: [{ channels: ['team'], ...r }] }).rules[0];
}

function run(over: Partial<RunSummary> = {}): RunSummary {
  return {
    run_id: 'r-1', pipeline: 'orders', status: 'success', started_at: '2025-06-01T11:00:00Z', finished_at: '2025-06-01T11:01:00Z',
    duration_ms: 60_000, phases: [], streams: {}, quality: { score: null }, ...over,
  };
}

const snap = (over: Partial<PipelineSnapshot> = {}): PipelineSnapshot => ({
  pipeline: 'orders', recent: { runs: 10, success_rate: 1, mean_duration_ms: 1000 }, dlqRows: 0, ...over,
});

const firing = (r: AlertRule, s: PipelineSnapshot, at = now) => evaluateRule(r, s, at).firing;

test('run_failed fires on a failed last run, critical by default, with the run id and the redacted error', () => {
  const r = rule({ when: 'run_failed' });
  const o = evaluateRule(r, snap({ lastRun: run({ status: 'failed', error: 'connect postgres://u:pw1234@h/db refused' }) }), now);
  assert.equal(o.firing, true);
  assert.equal(o.severity, 'critical');
  assert.equal(o.runId, 'r-1');
  assert.equal(o.summary, 'orders: run r-1 failed: connect postgres://u:***@h/db refused');
  assert.equal(firing(r, snap({ lastRun: run({ status: 'partial_success' }) })), false);
  assert.equal(firing(r, snap()), false);
  assert.equal(evaluateRule(rule({ when: 'run_failed', severity: 'error' }), snap(), now).severity, 'error');
});

test('partial_success fires only on a partial run, warning by default', () => {
  const r = rule({ when: 'partial_success' });
  const o = evaluateRule(r, snap({ lastRun: run({ status: 'partial_success' }) }), now);
  assert.equal(o.firing, true);
  assert.equal(o.severity, 'warning');
  assert.equal(firing(r, snap({ lastRun: run({ status: 'failed' }) })), false);
});

test('quality_below compares the run score, or one stream\'s, with the threshold', () => {
  const r = rule({ when: 'quality_below', threshold: 90 });
  assert.equal(firing(r, snap({ lastRun: run({ quality: { score: 89.5 } }) })), true);
  assert.equal(firing(r, snap({ lastRun: run({ quality: { score: 90 } }) })), false);
  assert.equal(firing(r, snap({ lastRun: run({ quality: { score: null } }) })), false);
  const s = rule({ when: 'quality_below', threshold: 90, stream: 'items' });
  assert.equal(s.id, 'quality_below:90@items');
  const streams = { items: { score: 50 }, other: { score: 100 } } as unknown as NonNullable<RunSummary['quality']['streams']>;
  const o = evaluateRule(s, snap({ lastRun: run({ quality: { score: 99, streams } }) }), now);
  assert.equal(o.firing, true);
  assert.equal(o.stream, 'items');
  assert.match(o.summary, /stream items's quality score 50 is below 90/);
});

test('duration_above compares the last run\'s duration with the threshold duration', () => {
  const r = rule({ when: 'duration_above', threshold: '30m' });
  assert.equal(r.threshold, 1_800_000);
  assert.equal(firing(r, snap({ lastRun: run({ duration_ms: 1_800_001 }) })), true);
  assert.equal(firing(r, snap({ lastRun: run({ duration_ms: 1_800_000 }) })), false);
});

test('success_rate_below looks at the recent runs, 20 by default', () => {
  const r = rule({ when: 'success_rate_below', threshold: 0.9 });
  assert.equal(r.runs, 20);
  assert.equal(firing(r, snap({ recent: { runs: 20, success_rate: 0.85, mean_duration_ms: 1 } })), true);
  assert.equal(firing(r, snap({ recent: { runs: 20, success_rate: 0.9, mean_duration_ms: 1 } })), false);
  assert.equal(firing(r, snap({ recent: { runs: 0, success_rate: 0, mean_duration_ms: null } })), false);
  assert.equal(recentWindow([r, rule({ when: 'success_rate_below', threshold: 0.5, runs: 50 })]), 50);
  assert.equal(recentWindow([rule({ when: 'run_failed' })]), 20);
  // Each rule over its own window of the outcomes, newest first: the last 5 failed, the 15 before succeeded.
  const recent = { runs: 20, success_rate: 0.75, mean_duration_ms: 1, outcomes: 'fffffsssssssssssssss' };
  assert.equal(firing(rule({ when: 'success_rate_below', threshold: 0.5, runs: 5 }), snap({ recent })), true);
  assert.equal(firing(rule({ when: 'success_rate_below', threshold: 0.5, runs: 20 }), snap({ recent })), false);
  assert.match(evaluateRule(rule({ when: 'success_rate_below', threshold: 0.5, runs: 5 }), snap({ recent }), new Date()).summary, /0% of the last 5 runs/);
});

test('freshness fires when the last success is older than max_age, or a pipeline that ran never succeeded', () => {
  const r = rule({ when: 'freshness', max_age: '26h' });
  assert.equal(evaluateRule(r, snap(), now).severity, 'critical');
  assert.equal(firing(r, snap({ lastSuccessAt: new Date(now.getTime() - 26 * 3_600_000 - 1) })), true);
  assert.equal(firing(r, snap({ lastSuccessAt: new Date(now.getTime() - 25 * 3_600_000) })), false);
  assert.equal(firing(r, snap({ lastRun: run({ status: 'failed' }) })), true);
  assert.equal(firing(r, snap({ recent: { runs: 0, success_rate: 0, mean_duration_ms: null } })), false);
});

test('dlq_growth fires when at least `threshold` rows were added since the last evaluation', () => {
  const r = rule({ when: 'dlq_growth' });
  assert.equal(r.threshold, 1);
  assert.equal(firing(r, snap({ dlqRows: 5, previousDlqRows: 4 })), true);
  assert.equal(firing(r, snap({ dlqRows: 5, previousDlqRows: 5 })), false);
  assert.equal(firing(r, snap({ dlqRows: 5 })), false, 'no previous count: nothing to compare');
  const ten = rule({ when: 'dlq_growth', threshold: 10, stream: 'items' });
  assert.equal(firing(ten, snap({ dlqRowsByStream: { items: 19 }, previousDlqRowsByStream: { items: 10 } })), false);
  assert.equal(firing(ten, snap({ dlqRowsByStream: { items: 20 }, previousDlqRowsByStream: { items: 10 } })), true);
});

test('pipeline_invalid fires while the pipeline file has an error', () => {
  const r = rule({ when: 'pipeline_invalid' });
  const o = evaluateRule(r, snap({ invalid: 'sources[0].type: unknown' }), now);
  assert.deepEqual([o.firing, o.severity, o.summary], [true, 'critical', 'orders: the pipeline file is invalid: sources[0].type: unknown']);
  assert.equal(firing(r, snap()), false);
});

const texts = (data: unknown): string[] => {
  const r = parseAlerts(data);
  assert.equal(r.ok, false, 'expected the block to be refused');
  return (r as { issues: AlertsIssue[] }).issues.map((i) => i.text);
};

test('the spec names the key and what it expects', () => {
  assert.deepEqual(texts({ channels, rules: [{ when: 'quality_below', channels: ['team'] }] }),
    ['alerts.rules[0].threshold: `when: quality_below` needs a `threshold`: a score from 0 to 100']);
  assert.deepEqual(texts({ channels, rules: [{ when: 'quality_below', threshold: 120, channels: ['team'] }] }),
    ['alerts.rules[0].threshold: expected a score from 0 to 100, got `120`']);
  assert.deepEqual(texts({ channels, rules: [{ when: 'success_rate_below', threshold: 5, channels: ['team'] }] }),
    ['alerts.rules[0].threshold: expected a rate from 0 to 1, got `5`']);
  assert.deepEqual(texts({ channels, rules: [{ when: 'duration_above', threshold: '2 hours', channels: ['team'] }] }),
    ['alerts.rules[0].threshold: expected a duration such as `30m` or `2h`, got `2 hours`']);
  assert.deepEqual(texts({ channels, rules: [{ when: 'freshness', channels: ['team'] }] }),
    ['alerts.rules[0].max_age: `when: freshness` needs `max_age`: a duration such as `26h`']);
  assert.deepEqual(texts({ channels, rules: [{ when: 'run_failed', threshold: 3, channels: ['team'] }] }),
    ['alerts.rules[0].threshold: `when: run_failed` takes no threshold']);
  assert.deepEqual(texts({ channels, rules: [{ when: 'freshness', max_age: '26h', repeat: 'daily', channels: ['team'] }] }),
    ['alerts.rules[0].repeat: expected a duration such as `30m`, `12h`, `2d` or `1w`, got `daily`']);
  const [when] = texts({ channels, rules: [{ when: 'run_faild', channels: ['team'] }] });
  assert.match(when, /^alerts\.rules\[0\]\.when: expected one of `run_failed`, .* got `run_faild` — did you mean `run_failed`\?$/);
});

test('a rule naming an unknown channel, and a channel of an unknown type or missing key, are errors', () => {
  assert.deepEqual(texts({ channels, rules: [{ when: 'run_failed', channels: ['teem'] }] }),
    ['alerts.rules[0].channels[0]: unknown channel `teem` (channels defined: team) — did you mean `team`?']);
  assert.equal(parseAlerts({ rules: [{ when: 'run_failed', channels: ['oncall'] }] }, { knownChannels: ['oncall'] }).ok, true);
  assert.deepEqual(texts({ channels: { x: { type: 'slak', webhook_url: 'https://h/x' } } }),
    ['alerts.channels.x.type: expected one of log, slack, webhook, email, pagerduty, got `slak` — did you mean `slack`?']);
  assert.deepEqual(texts({ channels: { x: { type: 'pagerduty' } } }),
    ['alerts.channels.x.routing_key: required key `routing_key` is missing (expected string)']);
  assert.deepEqual(texts({ channels: { x: { type: 'slack', webhook_url: 'ftp://h/x' } } }),
    ['alerts.channels.x.webhook_url: expected an http(s) URL, got `ftp://h/x`']);
  const [unknownKey] = texts({ channels: { x: { type: 'webhook', url: 'https://h/x', secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', sign: true } } });
  assert.match(unknownKey, /^alerts\.channels\.x\.sign: unknown key \(valid keys here: .*secret/);
  assert.deepEqual(texts({ channels, rules: [{ when: 'run_failed', channels: ['team'] }, { when: 'run_failed', channels: ['team'] }] }),
    ['alerts.rules[1]: rule `run_failed` repeats rules[0]: list both channels in one rule, or give one a `name`']);
  assert.throws(() => loadAlerts({ channels, rules: [{ when: 'nope', channels: ['team'] }] }), /invalid alerts:\n {2}alerts\.rules\[0\]\.when/);
});

test('defaults: repeat 4h, pagerduty url, subject prefix; parsing registers the channels\' secrets', () => {
  const cfg = loadAlerts({
    channels: {
      pd: { type: 'pagerduty', routing_key: 'R0UTINGKEY-unit-1' },
      mail: { type: 'email', smtp_url: 'smtp://etl:p%40ssw0rd-unit@127.0.0.1:25', from: 'a@b.c', to: ['d@e.f'] },
      chat: { type: 'slack', webhook_url: 'https://hooks.example/services/T1/B2/slack-unit-secret' },
    },
    rules: [{ when: 'run_failed', channels: ['pd'] }],
  });
  assert.equal(cfg.rules[0].repeatMs, 4 * 3_600_000);
  assert.equal(cfg.channels.pd.type === 'pagerduty' && cfg.channels.pd.url, 'https://events.pagerduty.com/v2/enqueue');
  assert.equal(cfg.channels.mail.type === 'email' && cfg.channels.mail.subject_prefix, '[sluice]');
  assert.equal(redact('key R0UTINGKEY-unit-1, pw p@ssw0rd-unit, hook /services/T1/B2/slack-unit-secret'), 'key ***, pw ***, hook ***');
});

test('dedup keys are stable per (rule, pipeline, stream); the backoff doubles to its cap with jitter', () => {
  assert.equal(dedupKey('run_failed', 'orders', ''), dedupKey('run_failed', 'orders', ''));
  assert.notEqual(dedupKey('run_failed', 'orders', ''), dedupKey('run_failed', 'orders', 'items'));
  assert.notEqual(dedupKey('run_failed', 'orders', ''), dedupKey('run_failed', 'orders-2', ''));
  assert.deepEqual([0, 1, 2, 10].map((a) => retryDelayMs(a, { random: () => 1 })), [5_000, 10_000, 20_000, 600_000]);
  assert.equal(retryDelayMs(0, { random: () => 0 }), 2_500);
});

test('webhook signatures follow Standard Webhooks (whsec_ keys are base64)', () => {
  // The example of the Standard Webhooks reference libraries.
  const sig = signWebhook('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
  assert.equal(sig, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
});
