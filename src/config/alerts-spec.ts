// The `alerts:` block (under a pipeline, or in the project file `sluice.yaml`): channels say where alerts go, rules
// when they fire. One zod schema validates, types and documents it; parseAlerts turns its issues into messages that
// name the key and what it expects.
import { z } from 'zod';
import { duration, parseDuration } from '../core/duration.js';
import { registerSecret } from '../core/redact.js';
import { formatPath, type KeyPath } from './locate.js';
import { nearest } from './nearest.js';
import { mapIssues, valueAt, type ConfigIssue } from './zod-issues.js';

export const SEVERITIES = ['critical', 'error', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export const CONDITIONS = [
  'run_failed', 'partial_success', 'quality_below', 'duration_above', 'success_rate_below', 'freshness', 'dlq_growth',
  'pipeline_invalid', 'sync_lag', 'sync_stopped',
] as const;
export type Condition = (typeof CONDITIONS)[number];

export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';
const NAME = /^[a-z][a-z0-9_-]*$/;
const NAME_TEXT = 'a name of lowercase letters, digits, _ and -';

const httpUrl = (what: string) => z.url({ protocol: /^https?$/, error: 'an http(s) URL' }).describe(what);

/** `whsec_<base64>` (the Standard Webhooks form: the key is the decoded bytes) or any other text (its UTF-8 bytes). */
export function webhookKey(secret: string): Buffer {
  return secret.startsWith('whsec_') ? Buffer.from(secret.slice('whsec_'.length), 'base64') : Buffer.from(secret, 'utf8');
}

const whsec = (s: string): boolean => !s.startsWith('whsec_') || /^[A-Za-z0-9+/]{16,}={0,2}$/.test(s.slice('whsec_'.length));

export const channelSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('log').describe('Writes the alert to the log (warn level).') }),
  z.strictObject({
    type: z.literal('slack'),
    webhook_url: httpUrl('Slack incoming-webhook URL (a secret: never logged).'),
  }),
  z.strictObject({
    type: z.literal('webhook'),
    url: httpUrl('Where the alert is POSTed as JSON.'),
    secret: z.string().min(8).refine(whsec, 'a `whsec_` secret followed by base64')
      .describe('Standard Webhooks signing secret: `whsec_<base64>` or any text of 8 characters or more.'),
  }),
  z.strictObject({
    type: z.literal('email'),
    smtp_url: z.url({ protocol: /^smtps?$/, error: 'an smtp:// or smtps:// URL' })
      .describe('`smtp://user:password@host:587` or `smtps://…:465` (the password is never logged).'),
    from: z.string().min(3).describe('Sender address.'),
    to: z.array(z.string().min(3)).min(1).describe('Recipient addresses.'),
    subject_prefix: z.string().default('[sluice]').describe('Put before every subject.'),
  }),
  z.strictObject({
    type: z.literal('pagerduty'),
    routing_key: z.string().min(1).describe('Events API v2 integration (routing) key (a secret: never logged).'),
    url: httpUrl('Events API endpoint; change it only to test.').default(PAGERDUTY_EVENTS_URL),
  }),
]);
export type AlertChannel = z.output<typeof channelSchema>;
export type ChannelType = AlertChannel['type'];

/** A rule as written: `when` decides which of threshold, max_age, runs and stream it takes (checkRule). */
const ruleKeys = z.strictObject({
  name: z.string().regex(NAME, NAME_TEXT).optional()
    .describe('The rule\'s name in alerts and the store; by default `when` with its threshold (`quality_below:90`).'),
  when: z.enum(CONDITIONS).describe('The condition: run_failed, partial_success, quality_below, duration_above, success_rate_below, freshness, dlq_growth, pipeline_invalid; for mode: cdc syncs, sync_lag and sync_stopped.'),
  channels: z.array(z.string()).min(1).describe('Channels (names under `channels`) that get this rule\'s alerts.'),
  threshold: z.union([z.number(), z.string()]).optional()
    .describe('quality_below: a score 0–100; duration_above: a duration (`2h`); success_rate_below: a rate 0–1; dlq_growth: rows added since the last evaluation (default 1); sync_lag: bytes of the source\'s log a stream has not applied (a PostgreSQL slot\'s lag, MariaDB binlog bytes).'),
  max_age: duration('freshness: the longest time since the last successful run (`26h`); sync_lag: the longest a stream\'s last transaction may take from source commit to target commit (`5m`).').optional(),
  runs: z.int().min(1).max(1000).optional().describe('success_rate_below: how many recent runs the rate is over (default 20).'),
  stream: z.string().min(1).optional().describe('quality_below, dlq_growth: watch this stream only (default: the whole pipeline); sync_lag, sync_stopped: this stream of the sync only (`a_to_b` or `b_to_a`).'),
  severity: z.enum(SEVERITIES).optional().describe('critical, error, warning or info; default critical for run_failed, freshness, pipeline_invalid and sync_stopped, warning otherwise.'),
  repeat: duration('While the condition holds, send again after this long.').prefault('4h'),
});
type RuleInput = z.output<typeof ruleKeys>;

const THRESHOLD: Partial<Record<Condition, { expected: string; ok: (v: unknown) => boolean; required: boolean }>> = {
  quality_below: { expected: 'a score from 0 to 100', ok: (v) => typeof v === 'number' && v >= 0 && v <= 100, required: true },
  duration_above: { expected: 'a duration such as `30m` or `2h`', ok: (v) => typeof v === 'string' && parseDuration(v) !== undefined, required: true },
  success_rate_below: { expected: 'a rate from 0 to 1', ok: (v) => typeof v === 'number' && v >= 0 && v <= 1, required: true },
  dlq_growth: { expected: 'a whole number of rows, 1 or more', ok: (v) => Number.isInteger(v) && (v as number) >= 1, required: false },
  sync_lag: { expected: 'a whole number of bytes, 1 or more', ok: (v) => Number.isInteger(v) && (v as number) >= 1, required: false },
};

/** Conditions that take `max_age`, and those that take `stream`. */
const TAKES_MAX_AGE: ReadonlySet<Condition> = new Set(['freshness', 'sync_lag']);
const TAKES_STREAM: ReadonlySet<Condition> = new Set(['quality_below', 'dlq_growth', 'sync_lag', 'sync_stopped']);

function checkRule(r: RuleInput, ctx: z.RefinementCtx): void {
  const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
  const t = THRESHOLD[r.when];
  if (t && r.threshold === undefined && t.required) issue('threshold', `\`when: ${r.when}\` needs a \`threshold\`: ${t.expected}`);
  if (t && r.threshold !== undefined && !t.ok(r.threshold)) issue('threshold', `expected ${t.expected}, got \`${String(r.threshold)}\``);
  if (!t && r.threshold !== undefined) issue('threshold', `\`when: ${r.when}\` takes no threshold`);
  if (r.when === 'freshness' && !r.max_age) issue('max_age', '`when: freshness` needs `max_age`: a duration such as `26h`');
  if (r.when === 'sync_lag' && !r.max_age && r.threshold === undefined) issue('threshold', '`when: sync_lag` needs a `threshold` in bytes, a `max_age` (`5m`), or both');
  if (!TAKES_MAX_AGE.has(r.when) && r.max_age) issue('max_age', '`max_age` is used only with `when: freshness` or `when: sync_lag`');
  if (r.when !== 'success_rate_below' && r.runs !== undefined) issue('runs', '`runs` is used only with `when: success_rate_below`');
  if (r.stream !== undefined && !TAKES_STREAM.has(r.when)) {
    issue('stream', `\`stream\` is used only with ${[...TAKES_STREAM].map((c) => `\`when: ${c}\``).join(', ')}`);
  }
}

/** A rule ready to evaluate: `threshold` is a number (milliseconds for duration_above). */
export interface AlertRule {
  /** The rule's identity in the store and in alert bodies: `name`, or `when` with its threshold and stream. */
  id: string;
  when: Condition;
  channels: string[];
  threshold?: number;
  maxAgeMs?: number;
  /** success_rate_below: the window, in runs. */
  runs: number;
  stream?: string;
  severity?: Severity;
  repeatMs: number;
}

function toRule(r: RuleInput): AlertRule {
  // sync_lag may take both: `sync_lag:1048576/5m`.
  const param = [r.threshold, r.max_age?.text].filter((p) => p !== undefined).join('/') || undefined;
  const threshold = typeof r.threshold === 'string' ? parseDuration(r.threshold) : r.threshold ?? (r.when === 'dlq_growth' ? 1 : undefined);
  return {
    id: r.name ?? `${r.when}${param === undefined ? '' : `:${param}`}${r.stream ? `@${r.stream}` : ''}`,
    when: r.when,
    channels: r.channels,
    ...(threshold !== undefined ? { threshold } : {}),
    ...(r.max_age ? { maxAgeMs: r.max_age.ms } : {}),
    runs: r.runs ?? 20,
    ...(r.stream ? { stream: r.stream } : {}),
    ...(r.severity ? { severity: r.severity } : {}),
    repeatMs: r.repeat.ms,
  };
}

/** The `alerts:` block as written (the schema for docs, JSON Schema and a pipeline file's `alerts` key). */
export const alertsSchema = z.strictObject({
  channels: z.record(z.string().regex(NAME, NAME_TEXT), channelSchema).default({})
    .describe('Where alerts go, by name: `{type: log | slack | webhook | email | pagerduty, …}`.'),
  rules: z.array(ruleKeys.superRefine(checkRule)).default([]).describe('When alerts fire, and to which channels.'),
}).describe('Alert rules and the channels they notify (`sluice serve`).');

export interface AlertsConfig {
  channels: Record<string, AlertChannel>;
  rules: AlertRule[];
}

export interface AlertsIssue extends ConfigIssue {
  /** `alerts.rules[0].threshold: expected a score from 0 to 100, got `x``. */
  text: string;
}

export type AlertsResult = { ok: true; config: AlertsConfig } | { ok: false; issues: AlertsIssue[] };

export interface ParseAlertsOptions {
  /** Where the block sits in its file, for messages (default `['alerts']`). */
  path?: KeyPath;
  /** Channels defined elsewhere (the project file's) that these rules may name. */
  knownChannels?: string[];
  /** A pipeline's rules may name the project file's channels, which are checked when `serve` puts the two together. */
  anyChannel?: boolean;
}

/** The secrets of a channel: registered with redact() so no log line, error or record shows them. */
export function channelSecrets(c: AlertChannel): string[] {
  switch (c.type) {
    case 'slack': return [c.webhook_url, new URL(c.webhook_url).pathname];
    case 'webhook': return [c.secret];
    case 'pagerduty': return [c.routing_key];
    case 'email': {
      const password = new URL(c.smtp_url).password;
      return password ? [password, decodeURIComponent(password)] : [];
    }
    default: return [];
  }
}

/** Validates an `alerts:` block and registers its secrets; the issues name each key and what it expects. */
export function parseAlerts(data: unknown, opts: ParseAlertsOptions = {}): AlertsResult {
  const prefix = opts.path ?? ['alerts'];
  const parsed = alertsSchema.safeParse(data ?? {});
  const issues: ConfigIssue[] = [];
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      issues.push(...(channelTypeIssue(i, data, prefix) ?? channelIssue(i, data, prefix) ?? mapIssues([i], alertsSchema, data, prefix)));
    }
    return { ok: false, issues: issues.map(withText) };
  }
  const { channels } = parsed.data;
  const known = [...Object.keys(channels), ...(opts.knownChannels ?? [])];
  const rules = parsed.data.rules.map(toRule);
  const seen = new Map<string, number>();
  rules.forEach((rule, i) => {
    rule.channels.forEach((name, j) => {
      if (known.includes(name) || opts.anyChannel) return;
      const near = nearest(name, known);
      issues.push({
        path: [...prefix, 'rules', i, 'channels', j],
        message: `unknown channel \`${name}\` (${known.length ? `channels defined: ${known.join(', ')}` : 'no channels are defined'})`,
        expected: 'the name of a channel under `channels`',
        ...(near ? { suggestion: `did you mean \`${near}\`?` } : {}),
      });
    });
    const first = seen.get(rule.id);
    if (first !== undefined) {
      issues.push({
        path: [...prefix, 'rules', i],
        message: `rule \`${rule.id}\` repeats rules[${first}]: list both channels in one rule, or give one a \`name\``,
      });
    } else seen.set(rule.id, i);
  });
  if (issues.length) return { ok: false, issues: issues.map(withText) };
  for (const c of Object.values(channels)) for (const s of channelSecrets(c)) registerSecret(s);
  return { ok: true, config: { channels, rules } };
}

/** parseAlerts, throwing one error that lists every issue. */
export function loadAlerts(data: unknown, opts: ParseAlertsOptions = {}): AlertsConfig {
  const r = parseAlerts(data, opts);
  if (!r.ok) throw new Error(`invalid alerts:\n${r.issues.map((i) => `  ${i.text}`).join('\n')}`);
  return r.config;
}

const withText = (i: ConfigIssue): AlertsIssue => ({
  ...i,
  text: `${formatPath(i.path)}: ${i.message}${i.suggestion ? ` — ${i.suggestion}` : ''}`,
});

/** An issue inside a channel of a known type, mapped against that type's object (so "valid keys" are its keys). */
function channelIssue(issue: z.core.$ZodIssue, data: unknown, prefix: KeyPath): ConfigIssue[] | undefined {
  if (issue.path[0] !== 'channels' || issue.path.length < 2) return undefined;
  const at = issue.path.slice(0, 2) as KeyPath;
  const channel = valueAt(data, at) as { type?: unknown } | undefined;
  const branch = channelSchema.options.find((o) => o.shape.type.value === channel?.type);
  return branch && mapIssues([{ ...issue, path: issue.path.slice(2) }], branch, channel, [...prefix, ...at]);
}

/** A channel whose `type` is missing or unknown: zod says only "no matching discriminator". */
function channelTypeIssue(issue: z.core.$ZodIssue, data: unknown, prefix: KeyPath): ConfigIssue[] | undefined {
  if (issue.code !== 'invalid_union' || (issue as { discriminator?: string }).discriminator !== 'type') return undefined;
  const at = issue.path[issue.path.length - 1] === 'type' ? issue.path.slice(0, -1) : issue.path;
  const value = valueAt(data, at as KeyPath);
  const types = channelSchema.options.map((o) => o.shape.type.value as string);
  const got = value !== null && typeof value === 'object' ? (value as { type?: unknown }).type : undefined;
  const near = typeof got === 'string' ? nearest(got, types) : undefined;
  return [{
    path: [...prefix, ...(at as KeyPath), 'type'],
    message: got === undefined ? `required key \`type\` is missing (expected one of ${types.join(', ')})` : `expected one of ${types.join(', ')}, got \`${String(got)}\``,
    expected: `one of ${types.join(', ')}`,
    ...(near ? { suggestion: `did you mean \`${near}\`?` } : {}),
  }];
}

