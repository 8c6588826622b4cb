// The "Transform steps" section of the config reference, generated from the step specs and the expression
// function table (src/config/generate-docs.ts calls it with its own JSON-Schema helpers).
import { FUNCTIONS, SPECIAL_FUNCTIONS } from '../expr/functions.js';
import { CODE_ONLY_STEPS, stepSpecs } from './registry.js';

type Json = Record<string, any>;

export interface DocHelpers {
  toJson(schema: unknown): Json;
  keyTable(objectSchema: Json): string;
  typeText(js: Json): string;
}

export function transformsReference(h: DocHelpers): string[] {
  const out: string[] = [
    '## Transform steps',
    '',
    '`transforms:` maps a stream name to a list of steps; each step is a mapping with one key, its kind. Steps run in',
    'order on every batch, right after extraction. A row a step cannot handle (a value that does not cast, an',
    'expression that fails) goes to the dead-letter queue with stage `transform` and the reason; rows a step drops',
    '(filter, dedupe, aggregate) count as `filtered`, so `extracted = loaded + dead_lettered + filtered` (a user',
    'function that returns several rows for one adds rows that were not extracted; flatten\'s child rows load into',
    'their own table and are logged, not counted in the parent). Column names in a stream\'s `columns:` and in',
    'checks are the names after the transforms. Steps that must see the whole stream (aggregate, dedupe keeping',
    '`last`/`latest`) hold their rows and emit them at the end of the stream; the stream then commits once, at the end.',
    '',
    '```yaml',
    'transforms:',
    '  orders:',
    '    - rename: { "Order Total": total }',
    '    - cast: { total: { type: decimal, thousands: "," }, ordered_at: { type: timestamp, format: "dd/MM/yyyy HH:mm", zone: Europe/Paris } }',
    '    - trim: [customer_name]',
    '    - nullify: { values: ["", "N/A"] }',
    '    - derive: { total_with_tax: "total * 1.2", segment: "if(total > 1000, \'gold\', \'std\')" }',
    '    - filter: "status != \'cancelled\'"',
    '    - dedupe: { key: [order_id], keep: last }',
    '```',
    '',
    'From TypeScript (`definePipeline`), a step may also be `{ fn: (row) => row | null | row[] }` (per row; null drops',
    'the row, a throw dead-letters it) or `{ batch: (rows) => rows }` (per batch, may be async).',
    '',
  ];
  for (const spec of stepSpecs()) {
    if (CODE_ONLY_STEPS.has(spec.kind)) continue;
    const js = h.toJson(spec.options);
    out.push(`### \`${spec.kind}\``, '', spec.description, '');
    // Options that are (or map names to) a mapping get a key table: `cast: { col: { type, format, … } }`.
    const branches = (s: Json | undefined): Json[] => (s ? [s, ...(s.anyOf ?? s.oneOf ?? [])] : []);
    const object = [...branches(js), ...branches(js.additionalProperties)].find((b: Json) => b.properties);
    if (object && !js.properties) out.push(`Options: ${h.typeText(js)}${js.description ? ` — ${js.description}` : ''}`, '');
    if (object) out.push(h.keyTable(object));
    else out.push(`Options: ${h.typeText(js)}${js.description ? ` — ${js.description}` : ''}`, '');
  }
  const fns = { ...FUNCTIONS, ...SPECIAL_FUNCTIONS };
  out.push(
    '### Expressions',
    '',
    '`derive` and `filter` use a small expression language (parsed once per run, never evaluated as JavaScript).',
    'Columns: bare names (`total`), nested fields (`party.name.en`, `items.0.sku`), or quoted (`"Release Date"`,',
    '`` `Release Date` ``); a name that is not a column of the row is null. Text: single quotes (`\'it\'\'s\'`).',
    'Operators, loosest first: `or`, `and`, `not`, comparisons (`= == != <> < <= > >=`, `[not] in (…)`,',
    '`is [not] null`), `||` (concatenation), `+ -`, `* / %`, unary `-`. Numbers written as text (a CSV cell) count',
    'as numbers; null in gives null out (SQL style) and a filter keeps only rows where the condition is true. A row',
    'where an expression fails (`\'abc\' * 2`, a division by zero) goes to the dead-letter queue.',
    '',
    'Functions:',
    '',
    ...Object.keys(fns).sort().map((name) => `- \`${fns[name].doc}\``),
    '',
  );
  return out;
}
