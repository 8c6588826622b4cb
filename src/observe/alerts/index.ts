// Alerts: rules over pipeline snapshots (rules.ts), open alerts kept in the control store (alerter.ts) and the
// delivery outbox (deliver.ts) with its channels. The scheduler and the server call these; the engine does not.
export {
  alertsSchema, channelSchema, parseAlerts, loadAlerts, channelSecrets, webhookKey, CONDITIONS, SEVERITIES, PAGERDUTY_EVENTS_URL,
  type AlertsConfig, type AlertRule, type AlertChannel, type AlertsIssue, type AlertsResult, type Condition, type ParseAlertsOptions, type Severity,
} from '../../config/alerts-spec.js';
export { evaluateRule, evaluateRules, recentWindow, severityOf, type PipelineSnapshot, type RuleOutcome } from './rules.js';
export { Alerter, dedupKey, type AlertAction, type AlertBody, type AlerterOptions } from './alerter.js';
export { Outbox, retryDelayMs, type DeliveryPass, type OutboxOptions } from './deliver.js';
export { signWebhook } from './channels/webhook.js';
