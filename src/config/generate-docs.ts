// The JSON Schema of a pipeline file (for editor autocompletion) and the Markdown config reference, both
// generated from the same zod specs that validate pipelines. Run as a script it writes them to docs/;
// scripts/check-docs.js fails the build when the committed copies are out of date.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { DestinationSpec } from '../core/connector.js';
import { COLUMN_TYPES } from '../core/types.js';
import { syncFileSpec, syncTableSpec } from './sync-spec.js';
import { pipelineRetentionSchema, syncRetentionSchema } from './retention-spec.js';
import { DEFAULT_DESTINATION } from '../connectors/registry.js';
import {
  destinationSchema, pipelineFileSchema, sortedDestinationSpecs, sortedSourceSpecs, sourceSchema, topLevelKeys,
} from './pipeline-spec.js';
import { commonStreamKeys } from './stream-keys.js';
import { transformsReference } from '../transforms/docs.js';
import { checksReference } from '../quality/docs.js';

type Json = Record<string, any>;

const SAFE_INT = Number.MAX_SAFE_INTEGER;

function toJson(schema: z.ZodType): Json {
  return z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io: 'input',
    unrepresentable: 'any',
    override: ({ jsonSchema }) => {
      // z.int() adds the safe-integer range to every integer; it is noise to a person writing YAML.
      const js = jsonSchema as Json;
      if (js.minimum === -SAFE_INT) delete js.minimum;
      if (js.maximum === SAFE_INT) delete js.maximum;
    },
  }) as Json;
}

/** JSON Schema (draft 2020-12) of a pipeline file: one `oneOf` branch per source and destination type. */
export function generateJsonSchema(): Json {
  return toJson(pipelineFileSchema());
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\s*\n\s*/g, ' ');

function typeText(js: Json | undefined): string {
  if (!js || Object.keys(js).filter((k) => k !== 'description' && k !== 'default').length === 0) return 'any';
  if (js.const !== undefined) return `\`${JSON.stringify(js.const)}\``;
  if (js.title) return String(js.title);
  if (Array.isArray(js.enum)) return js.enum.map((v: unknown) => `\`${String(v)}\``).join(' | ');
  const alts = js.anyOf ?? js.oneOf;
  if (Array.isArray(alts)) return alts.map((a: Json) => typeText(a)).join(' or ');
  if (js.type === 'array') return js.items ? `list of ${typeText(js.items)}` : 'list';
  if (js.type === 'object') {
    if (js.additionalProperties && typeof js.additionalProperties === 'object') return `map of ${typeText(js.additionalProperties)}`;
    return 'mapping';
  }
  return Array.isArray(js.type) ? js.type.join(' or ') : String(js.type ?? 'any');
}

/** A Markdown table of an object schema's keys: name, type, default, description. */
function keyTable(objectSchema: Json, skip: string[] = []): string {
  const props: Record<string, Json> = objectSchema.properties ?? {};
  const required = new Set<string>(objectSchema.required ?? []);
  const rows = Object.entries(props)
    .filter(([k]) => !skip.includes(k))
    .map(([key, js]) => {
      const def = js.default !== undefined ? `\`${JSON.stringify(js.default)}\`` : required.has(key) ? 'required' : '—';
      return `| \`${key}\` | ${cell(typeText(js))} | ${cell(def)} | ${cell(js.description ?? '')} |`;
    });
  if (rows.length === 0) return '_No keys._\n';
  return ['| Key | Type | Default | Description |', '| --- | --- | --- | --- |', ...rows].join('\n') + '\n';
}

/** Dispositions the destination declares (with its default options). */
function dispositionsOf(spec: DestinationSpec): string | undefined {
  const defaults = spec.config.safeParse({});
  return spec.capabilities(defaults.success ? defaults.data : {}).dispositions.join(', ');
}

/** Logical type × destination: what each column type becomes in each destination (with default options). */
function typesTable(specs: readonly DestinationSpec[]): string[] {
  const caps = specs.map((spec) => {
    const defaults = spec.config.safeParse({});
    return spec.capabilities(defaults.success ? defaults.data : {});
  });
  return [
    '## Column types',
    '',
    'Declared in a stream\'s `columns` (or by `cast`), inferred from data otherwise. `decimal(p,s)` in `columns` declares a',
    'decimal of at most p digits, s after the point: the column is created with those digits (numeric(p,s), DECIMAL(p,s);',
    'DuckDB holds at most 38 digits, MySQL 65 with 30 after the point), and a longer value goes to the dead-letter queue',
    'unless the stream sets `rounding: half_even` or `half_up`. An undeclared `decimal` is DECIMAL(38,9) in DuckDB, MySQL',
    'and Parquet (a value with more digits widens the inferred column to `text`, or, with `on_schema_change: reject`, goes',
    'to the dead-letter queue), unbounded `numeric` in PostgreSQL, exact text in SQLite. An array type (`integer[]`, …) holds',
    'one-dimensional arrays whose elements may be null; its values may arrive as arrays, JSON array text or PostgreSQL',
    'array literals (`{1,2,NULL}`). Arrays found in data without a declared type are `json`.',
    '',
    'Numbers keep every digit. JSON numbers (files, API bodies, WebSocket messages) are read exactly: integers beyond',
    '2^53 as `bigint` (or `decimal` past 64 bits), numbers with more than 15 significant digits as `decimal`, and a `json`',
    'column keeps them as written. A column mixing ordinary floats with such numbers is inferred `decimal`. A value a',
    'destination cannot store exactly goes to the dead-letter queue with the reason, and the rest of the load lands: more',
    'than 9 digits after the point (or 29 before it) for a DECIMAL(38,9), a NUL character (U+0000) in PostgreSQL text or',
    '`jsonb` (or set `strip_nul: true` on the stream), a date in year 0000 for PostgreSQL, NaN or ±Infinity where the',
    'double type has none (MySQL; SQLite',
    'holds ±Infinity but not NaN; arrays written as JSON hold neither; PostgreSQL, DuckDB and Parquet hold all three, and',
    'NDJSON files write them as strings). Text reads `NaN`, `Infinity` and `inf` (any case, signed) as doubles. Declare a',
    'column `text` to keep any value as written. (A short JSON number beyond a double\'s range, such as `1e400`, reads as',
    'JSON.parse reads it, ±Infinity or 0, unless its document also holds a run of 16 digits.)',
    '',
    'A value the database itself refuses during the load, which no check foresaw (a CHECK or NOT NULL constraint, an',
    'enum or a domain of a table Sluice did not create, a duplicate in a unique index), costs only its row on PostgreSQL',
    'and MySQL: the stream goes back to its last commit and reads on from there, each batch applied at once under a',
    'savepoint and halved until the refused rows are found (a bad row costs about 2·log2(batch_size) more statements).',
    'They go to the dead-letter queue with the database\'s message (stage `load`), the rest lands once, and the counts',
    'go on from the commit. Not for `replace`, gated streams, streams with child tables or streaming sources (the stream',
    'fails with the reason, as it does on DuckDB and SQLite).',
    '',
    `| Type | ${specs.map((s) => `\`${s.type}\``).join(' | ')} |`,
    `| --- | ${specs.map(() => '---').join(' | ')} |`,
    ...COLUMN_TYPES.map((t) => `| \`${t}\` | ${caps.map((c) => cell(c.types(t))).join(' | ')} |`),
    '',
  ];
}

/** The Markdown config reference: top-level keys, stream keys, then every source and destination type. */
export function generateReference(): string {
  const out: string[] = [];
  const top = toJson(pipelineFileSchema());
  out.push(
    '# Pipeline configuration reference',
    '',
    '<!-- Generated from the connector specs by src/config/generate-docs.ts. Do not edit: run `npm run docs`. -->',
    '',
    'A pipeline file is YAML. String values may use `${VAR}` or `${VAR:-default}` to read environment variables',
    '(`$${` is a literal `${`); values of secret-looking keys and variables (`password`, `token`, `DB_PASSWORD`, …)',
    'are never printed. Unknown keys are errors. The JSON Schema in [pipeline.schema.json](pipeline.schema.json)',
    'gives editors completion: add `# yaml-language-server: $schema=<path to pipeline.schema.json>` at the top of a',
    'pipeline file. Where a key expects a number or a boolean, an interpolated value is converted (`concurrency:',
    '${WORKERS:-4}`); a literal quoted string is not.',
    '',
    '`sluice validate <file>` reports every error at once, one per line in file order, as',
    '`file:line:column key.path message`, with a hint (the nearest valid key or value) when there is one; it exits 2.',
    '',
    '## Top-level keys',
    '',
    keyTable(top),
    'Each key of `retention`:',
    '',
    keyTable(toJson(pipelineRetentionSchema)),
    'Each key of `privacy`:',
    '',
    keyTable(toJson(topLevelKeys.privacy.unwrap())),
    '## Stream keys (every source)',
    '',
    'Each entry of a source\'s `streams` takes these keys, plus the stream keys of its source type.',
    '',
    keyTable(toJson(z.strictObject(commonStreamKeys))),
    '## Sources',
    '',
  );
  for (const spec of sortedSourceSpecs()) {
    out.push(
      `### \`${spec.type}\``,
      '',
      `Status: ${spec.status}. ${spec.description}`,
      '',
      'Source keys:',
      '',
      keyTable(toJson(sourceSchema(spec))),
      'Stream keys (besides the common ones):',
      '',
      keyTable(toJson(spec.stream), Object.keys(commonStreamKeys)),
    );
  }
  out.push('## Destinations', '');
  for (const spec of sortedDestinationSpecs()) {
    const dispositions = dispositionsOf(spec);
    out.push(
      `### \`${spec.type}\`${spec.type === DEFAULT_DESTINATION ? ' (default)' : ''}`,
      '',
      `Status: ${spec.status}. ${spec.description}`,
      '',
      ...(dispositions ? [`Write dispositions: ${dispositions}.`, ''] : []),
      keyTable(toJson(destinationSchema(spec))),
    );
  }
  out.push(...typesTable(sortedDestinationSpecs()));
  out.push(...transformsReference({ toJson: (s) => toJson(s as z.ZodType), keyTable, typeText }));
  out.push(...checksReference({ toJson: (s) => toJson(s as z.ZodType), keyTable, typeText }));
  out.push(
    '## Sync files',
    '',
    'A sync file (`sluice sync <file> --once`, `sluice diff <file>`, `sluice serve`) names two systems and the tables kept',
    'in step between them. It is validated like a pipeline file: every error at its file, line and column.',
    '',
    keyTable(toJson(syncFileSpec)),
    'Each entry of `tables`:',
    '',
    keyTable(toJson(syncTableSpec)),
    'Each key of `retention`:',
    '',
    keyTable(toJson(syncRetentionSchema)),
  );
  return out.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd() + '\n';
}

export const schemaText = (): string => JSON.stringify(generateJsonSchema(), null, 2) + '\n';

/** Write docs/pipeline.schema.json and docs/config-reference.md under `root`. */
export function writeDocs(root: string): string[] {
  const dir = join(root, 'docs');
  mkdirSync(dir, { recursive: true });
  const files = [join(dir, 'pipeline.schema.json'), join(dir, 'config-reference.md')];
  writeFileSync(files[0], schemaText());
  writeFileSync(files[1], generateReference());
  return files;
}

// `node dist/src/config/generate-docs.js`: this file sits in <root>/<outDir>/src/config/.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  for (const f of writeDocs(root)) process.stdout.write(`wrote ${f}\n`);
}
