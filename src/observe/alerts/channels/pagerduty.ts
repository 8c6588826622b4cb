// The `pagerduty` channel: Events API v2. A firing alert triggers, a resolved one resolves, both under the alert's
// dedup_key, so PagerDuty keeps one incident per alert. A 400 is a malformed event: retrying cannot fix it, but the
// outbox keeps it (and says so in the log) rather than drop it.
import { postJson } from './post-json.js';
import { where, type Sender } from './sender.js';

export const pagerdutySender = (url: string, routingKey: string): Sender => (body, { signal }) => {
  const event = body.event === 'alert.resolved'
    ? { routing_key: routingKey, event_action: 'resolve', dedup_key: body.dedup_key }
    : {
      routing_key: routingKey, event_action: 'trigger', dedup_key: body.dedup_key,
      payload: {
        summary: body.summary.slice(0, 1024), source: where(body), severity: body.severity,
        custom_details: { rule: body.rule, pipeline: body.pipeline, stream: body.stream, run_id: body.run_id },
      },
    };
  return postJson(url, JSON.stringify(event), { signal, malformed: (status) => status === 400 });
};
