// The "Checks" section of the config reference, generated from the check specs (src/config/generate-docs.ts calls it
// with its own JSON-Schema helpers, as it does for the transform steps).
import { checkSpecs } from './registry.js';
import { checkModifiers } from './spec.js';
import { z } from 'zod';

type Json = Record<string, any>;

export interface DocHelpers {
  toJson(schema: unknown): Json;
  keyTable(objectSchema: Json): string;
  typeText(js: Json): string;
}

export function checksReference(h: DocHelpers): string[] {
  const out: string[] = [
    '## Checks',
    '',
    '`checks:` maps a stream name to a list of checks. Each check is a mapping with one key, its kind, plus optional',
    '`severity` and `threshold`. Row checks run on every row after the transforms and schema coercion (column names',
    'are the names after the transforms); dataset checks judge the whole stream at the end of the run.',
    '',
    '- `severity: error` (default): a failing row goes to the dead-letter queue with stage `check`, the check, the',
    '  column and the row\'s position; a failing dataset check blocks the load.',
    '- `severity: warn`: the row loads; failures are counted per check and reported (`--json` `quality.streams`,',
    '  `sluice runs show`). A warn check with a crossed threshold, a failing warn dataset check, or a check on a',
    '  column the stream does not have, ends the run in partial success (exit 3).',
    '- `severity: info`: counted only.',
    '- A **gate** is an error check with a `threshold`, a dataset check (`row_count`, `volume`, `freshness`) or',
    '  `unique` with `target: true`. A stream with a gate stages all its rows and commits once, after the gates: when',
    '  one fails, nothing of the stream\'s run becomes visible in the target, the staging table is kept and named in',
    '  the error, and the run fails (exit 1). Rows that fail a thresholded check while under the threshold go to the',
    '  dead-letter queue and the rest loads.',
    '',
    '```yaml',
    'checks:',
    '  orders:',
    '    - not_null: [order_id, customer_id]',
    '    - range: { column: total, min: 0 }',
    '    - accepted_values: { column: status, values: [new, paid, shipped] }',
    '      severity: warn',
    '    - unique: [order_id]',
    '      threshold: 1%',
    '    - regex: { column: email, format: email }',
    '    - relationships: { column: customer_id, to: { stream: customers, column: id } }',
    '    - freshness: { column: updated_at, max_age: 2d }',
    '    - row_count: { min: 1, max: 1000000 }',
    '    - volume: { max_change: 50% }',
    '    - expression: "total >= 0 or status = \'refund\'"',
    '```',
    '',
    'Reference keys (`relationships`, `unique` with `target: true`) are read into memory once per run: they are meant',
    'for dimension-sized tables.',
    '',
    'Quality metrics per stream and run, stored in the control store (`sluice runs show`, `sluice quality <pipeline>`):',
    'completeness (non-null share of the checked columns), validity (rows failing no row check), consistency (1 − the',
    'failures of unique and relationships checks per row checked), timeliness (1 when fresh, else max_age / age).',
    'The score is 0–100: score = 100 × (0.4·validity + 0.25·completeness + 0.2·consistency + 0.15·timeliness) divided',
    'by the sum of the weights of the metrics that apply; the run\'s score (`--json` `quality.score`) is the mean of its',
    'streams\'.',
    '',
    'Modifiers of every check:',
    '',
    h.keyTable(h.toJson(z.strictObject(checkModifiers))),
  ];
  for (const spec of checkSpecs()) {
    const js = h.toJson(spec.options);
    out.push(`### \`${spec.kind}\``, '', `${spec.level === 'row' ? 'Row check' : 'Dataset check'}. ${spec.description}`, '');
    const branches = (s: Json | undefined): Json[] => (s ? [s, ...(s.anyOf ?? s.oneOf ?? [])] : []);
    const object = branches(js).find((b: Json) => b.properties);
    if (object && !js.properties) out.push(`Options: ${h.typeText(js)}${js.description ? ` — ${js.description}` : ''}`, '');
    if (object) out.push(h.keyTable(object));
    else out.push(`Options: ${h.typeText(js)}${js.description ? ` — ${js.description}` : ''}`, '');
  }
  return out;
}
