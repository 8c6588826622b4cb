// `sluice lint`'s rules (src/config/lint.ts): each reports the risky setting where it is written (line and column),
// and says nothing when the setting is fine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LINT_RULES, lintPipelineText, declaresPipeline, type LintFinding } from '../../src/config/lint.js';

const lint = (text: string, env: Record<string, string> = {}): LintFinding[] =>
  lintPipelineText(text, { file: 'p.yaml', baseDir: '/p', env });

/** rule, line:column and path of each finding of `rule` (all findings when omitted). */
const where = (findings: LintFinding[], rule?: string) =>
  findings.filter((f) => rule === undefined || f.rule === rule).map((f) => `${f.rule} ${f.line}:${f.column} ${f.path}`);

/** A valid pipeline that breaks no rule; tests change one thing in it. */
const clean = `pipeline: orders-daily
sources:
  - name: shop
    type: postgres
    url: postgres://app:\${PGPASSWORD}@db:5432/shop
    password: \${SHOP_PASSWORD}
    streams:
      - name: orders
        table: public.orders
        primary_key: [order_id]
        cursor: updated_at
        write: merge
        destination_table: order_facts
        columns: { order_id: integer, password_hash: text }
        pii: ["Customer Name"]
transforms:
  orders:
    - rename: { "Customer Name": customer_name, password: pwd }
    - derive: { total_with_tax: "total * 1.2" }
checks:
  orders:
    - not_null: [order_id, updated_at]
`;

const edit = (from: string, to: string): string => {
  assert.ok(clean.includes(from), from);
  return clean.replace(from, () => to);
};

test('a pipeline that follows the conventions has no findings (unset variables are the environment\'s business)', () => {
  assert.deepEqual(lint(clean), []);
  assert.deepEqual(lint(clean, { PGPASSWORD: 'x', SHOP_PASSWORD: 'y' }), []);
});

test('every rule has a stable kebab-case id and a severity', () => {
  assert.deepEqual(LINT_RULES.map((r) => `${r.id}:${r.severity}`), [
    'pipeline-name-kebab-case:error', 'stream-name-snake-case:error', 'table-name-snake-case:warning',
    'column-name-snake-case:warning', 'merge-without-primary-key:error', 'merge-without-checks:warning',
    'inline-secret:error', 'nullable-cursor:warning', 'pii-untagged:warning', 'pii-undeclared-column:warning',
    'partition-by-fine-column:warning',
  ]);
});

test('pipeline-name-kebab-case: one finding (not also validate\'s error), with a kebab-case suggestion', () => {
  const [f, ...rest] = lint(edit('pipeline: orders-daily', 'pipeline: OrdersDaily'));
  assert.deepEqual(rest, []);
  assert.deepEqual(f, {
    rule: 'pipeline-name-kebab-case', severity: 'error', file: 'p.yaml', line: 1, column: 11, path: 'pipeline',
    message: 'pipeline name `OrdersDaily` is not kebab-case: expected lowercase letters and digits joined by `-`, such as `orders-daily`',
  });
});

test('stream-name-snake-case: a stream name with capitals', () => {
  const findings = lint(edit('- name: orders', '- name: Orders'));
  assert.deepEqual(where(findings, 'stream-name-snake-case'), ['stream-name-snake-case 8:15 sources[0].streams[0].name']);
  assert.match(findings.find((f) => f.rule === 'stream-name-snake-case')!.message, /such as `orders`/);
  // Not reported twice: validation's own error about the name is the same problem.
  assert.equal(findings.filter((f) => f.path === 'sources[0].streams[0].name').length, 1);
});

test('table-name-snake-case: destination_table, each part of schema.table', () => {
  assert.deepEqual(where(lint(edit('destination_table: order_facts', 'destination_table: OrderFacts'))),
    ['table-name-snake-case 13:28 sources[0].streams[0].destination_table']);
  assert.deepEqual(where(lint(edit('destination_table: order_facts', 'destination_table: Sales.order_facts'))),
    ['table-name-snake-case 13:28 sources[0].streams[0].destination_table']);
  assert.deepEqual(lint(edit('destination_table: order_facts', 'destination_table: sales.order_facts')), []);
});

test('column-name-snake-case: columns keys, primary key, cursor, rename targets, derive and map columns', () => {
  const text = clean
    .replace('primary_key: [order_id]', 'primary_key: [OrderId]')
    .replace('cursor: updated_at', 'cursor: UpdatedAt')
    .replace('columns: { order_id: integer', 'columns: { "Order Id": integer')
    .replace('customer_name, password', '"Customer  Name", password')
    .replace('- derive: { total_with_tax:', '- map: { Sku: item.sku }\n    - derive: { TotalWithTax:')
    .replace('[order_id, updated_at]', '[OrderId, UpdatedAt]');
  const findings = lint(text);
  assert.deepEqual(where(findings), [
    'column-name-snake-case 10:23 sources[0].streams[0].primary_key[0]',
    'column-name-snake-case 11:17 sources[0].streams[0].cursor',
    'column-name-snake-case 14:20 sources[0].streams[0].columns["Order Id"]',
    'column-name-snake-case 18:34 transforms.orders[0].rename["Customer Name"]',
    'column-name-snake-case 19:14 transforms.orders[1].map.Sku',
    'column-name-snake-case 20:17 transforms.orders[2].derive.TotalWithTax',
  ]);
  assert.deepEqual(findings.map((f) => f.message.match(/such as `(.*)`$/)?.[1]),
    ['order_id', 'updated_at', 'order_id', 'customer_name', 'sku', 'total_with_tax']);
  assert.ok(findings.every((f) => f.severity === 'warning'));
  // Columns a check names are the source's, not declared by the file: they are not reported.
  assert.ok(!findings.some((f) => f.path.startsWith('checks')));
});

test('merge-without-primary-key: merge and scd2 without a key; one finding instead of validate\'s error', () => {
  const merge = lint(edit('        primary_key: [order_id]\n', ''));
  assert.deepEqual(where(merge), ['merge-without-primary-key 11:16 sources[0].streams[0].write']);
  assert.match(merge[0].message, /`write: merge` without `primary_key`: merge upserts on it/);
  assert.equal(merge[0].severity, 'error');
  const scd2 = lint(edit('        primary_key: [order_id]\n', '').replace('write: merge', 'write: scd2'));
  assert.deepEqual(where(scd2), ['merge-without-primary-key 11:16 sources[0].streams[0].write']);
  assert.match(scd2[0].message, /scd2 keeps history per key/);
  assert.deepEqual(lint(edit('        primary_key: [order_id]\n', '').replace('write: merge', 'write: append')), []);
});

test('merge-without-checks: a merge stream with no checks, or an empty list', () => {
  const none = clean.slice(0, clean.indexOf('checks:'));
  assert.deepEqual(where(lint(none)), ['merge-without-checks 12:16 sources[0].streams[0].write']);
  assert.deepEqual(where(lint(`${none}checks:\n  orders: []\n`)), ['merge-without-checks 12:16 sources[0].streams[0].write']);
  // Another stream's checks do not count.
  const other = lint(edit('checks:\n  orders:', 'checks:\n  items:'));
  assert.deepEqual(where(other, 'merge-without-checks'), ['merge-without-checks 12:16 sources[0].streams[0].write']);
  assert.deepEqual(lint(none.replace('write: merge', 'write: append')), []);
});

test('inline-secret: secret keys, URL passwords, literal defaults, headers and API keys; never the value', () => {
  const text = clean
    .replace('postgres://app:${PGPASSWORD}@db', 'postgres://app:pg-Secret-1@db')
    .replace('password: ${SHOP_PASSWORD}', 'password: ${SHOP_PASSWORD:-shop-Secret-2}')
    + `destination:
  type: postgres
  url: \${WAREHOUSE_URL}
  password: wh-Secret-3
`;
  const findings = lint(text);
  assert.deepEqual(where(findings), [
    'inline-secret 5:10 sources[0].url',
    'inline-secret 6:15 sources[0].password',
    'inline-secret 26:13 destination.password',
  ]);
  assert.match(findings[0].message, /^`url` is a URL with its password written inline/);
  assert.match(findings[1].message, /^`password` falls back to a secret written inline/);
  assert.equal(findings[2].message, '`password` holds a secret written inline: expected a reference to the environment, such as `password: ${PASSWORD}`');
  assert.doesNotMatch(JSON.stringify(findings), /Secret-/);

  const api = `pipeline: api
sources:
  - name: api
    type: rest
    base_url: https://api.example.org
    headers: { Accept: application/json, Authorization: "Bearer abcdef123456", X-Api-Key: "\${API_KEY}" }
    auth: { type: api_key, in: header, name: X-Key, value: "key-0123456789" }
    streams:
      - name: bills
        path: /bills/
`;
  const apiFindings = lint(api);
  assert.deepEqual(where(apiFindings), ['inline-secret 6:57 sources[0].headers.Authorization', 'inline-secret 7:60 sources[0].auth.value']);
  assert.doesNotMatch(JSON.stringify(apiFindings), /abcdef|0123456789/);
  const oauth = api.replace(/ {4}auth: .*\n/, '    auth: { type: oauth2, token_url: "https://id.example.org/token", client_id: app, client_secret: "${CLIENT_SECRET}", client_auth: basic }\n')
    .replace('"Bearer abcdef123456"', '"Bearer ${API_TOKEN}"');
  assert.deepEqual(lint(oauth), []);
  assert.deepEqual(where(lint(oauth.replace('"${CLIENT_SECRET}"', 'cs-0123456789'))), ['inline-secret 7:101 sources[0].auth.client_secret']);
});

test('inline-secret: an empty default, a column named password and a rename are no secrets', () => {
  assert.deepEqual(lint(edit('password: ${SHOP_PASSWORD}', 'password: ${SHOP_PASSWORD:-}')), []);
  assert.deepEqual(lint(edit('password: ${SHOP_PASSWORD}', 'password: "x${SHOP_PASSWORD}"')), []);
  // `$${` is a literal `${`: the value is written inline.
  assert.deepEqual(where(lint(edit('password: ${SHOP_PASSWORD}', 'password: $${SHOP_PASSWORD}'))), ['inline-secret 6:15 sources[0].password']);
});

test('nullable-cursor: a nullify step or a not_null check that only warns on the cursor', () => {
  const nullify = lint(edit('    - derive:', '    - nullify: { columns: [updated_at], values: [""] }\n    - derive:'));
  assert.deepEqual(where(nullify), ['nullable-cursor 11:17 sources[0].streams[0].cursor']);
  assert.match(nullify[0].message, /cursor `updated_at` can be null: `transforms\.orders\[1\]` \(nullify\) turns its values into null/);
  const warned = lint(edit('    - not_null: [order_id, updated_at]\n', '    - not_null: [order_id]\n    - not_null: updated_at\n      severity: warn\n'));
  assert.deepEqual(where(warned), ['nullable-cursor 11:17 sources[0].streams[0].cursor']);
  assert.match(warned[0].message, /`checks\.orders\[1\]` \(not_null, severity warn\) lets null values load/);
  // nullify on other columns, or a not_null check that sends null cursors to the DLQ: fine.
  assert.deepEqual(lint(edit('    - derive:', '    - nullify: { columns: [customer_name] }\n    - derive:')), []);
  assert.deepEqual(lint(edit('    - not_null: [order_id, updated_at]\n', '    - not_null: [order_id]\n    - not_null: updated_at\n      severity: error\n')), []);
});

test('partition-by-fine-column: a key, the cursor or a timestamp as a lake partition', () => {
  const lake = (stream: string): string => `pipeline: lake
sources:
  - name: files
    type: csv
    streams:
      - name: events
        path: events.csv
${stream}
destination: { type: files, path: s3://lake/x }
`;
  assert.deepEqual(where(lint(lake('        primary_key: id\n        partition_by: [day, id]'))), ['partition-by-fine-column 9:23 sources[0].streams[0].partition_by']);
  assert.match(lint(lake('        cursor: at\n        partition_by: at'))[0].message, /partition_by `at` is the cursor: a directory \(and a file every checkpoint\) per distinct value/);
  assert.match(lint(lake('        columns: { at: timestamp }\n        partition_by: [at]'))[0].message, /`at` is a timestamp/);
  assert.deepEqual(lint(lake('        columns: { day: date }\n        partition_by: [day]')), []);
});

test('invalid files: validate\'s errors as findings, with the rules\' findings beside them', () => {
  const findings = lint(edit('        write: merge\n', '        write: merge\n        wirte: merge\n').replace('pipeline: orders-daily', 'pipeline: Orders'));
  assert.deepEqual(where(findings), ['pipeline-name-kebab-case 1:11 pipeline', 'invalid-pipeline 13:9 sources[0].streams[0].wirte']);
  assert.equal(findings[1].severity, 'error');
  assert.match(findings[1].message, /^sources\[0\]\.streams\[0\]\.wirte unknown key .*; did you mean `write`\?$/);
  assert.deepEqual(where(lint('pipeline: [\n')), ['invalid-pipeline 2:1 ']);
  assert.deepEqual(where(lint('')), ['invalid-pipeline 1:1 ']);
});

test('declaresPipeline: directories lint only pipeline files', () => {
  assert.equal(declaresPipeline(clean), true);
  assert.equal(declaresPipeline('alerts:\n  channels: {}\n'), false);
  assert.equal(declaresPipeline(''), false);
  assert.equal(declaresPipeline('pipeline: [\n'), true);
});

test('unset variables: defaults still apply and are validated; a value from an unset variable is not judged', () => {
  const api = (baseUrl: string) => `pipeline: api
sources:
  - name: api
    type: rest
    base_url: ${baseUrl}
    timeout_ms: \${API_TIMEOUT_MS}
    streams:
      - name: bills
        path: /bills/
`;
  assert.deepEqual(lint(api('${API_URL:-https://api.example.org}')), []);
  assert.deepEqual(lint(api('${API_URL}')), []);
  assert.deepEqual(where(lint(api('${API_URL:-not a url}'))), ['invalid-pipeline 5:15 sources[0].base_url']);
  // A set variable is validated as `validate` does it.
  assert.deepEqual(where(lint(api('${API_URL}'), { API_URL: 'not a url', API_TIMEOUT_MS: '5000' })), ['invalid-pipeline 5:15 sources[0].base_url']);
});

test('pii-untagged: personal-looking columns the stream does not tag, where the file names them; flags and qualifiers are not', () => {
  const stream = (body: string, transforms = ''): string => `pipeline: people
sources:
  - name: files
    type: csv
    streams:
      - name: customers
        path: customers.csv
${body}
${transforms}`;
  const text = stream(`        primary_key: customerEmail
        columns: { customer_email: text, email_verified: boolean, Phone2: text, date_of_birth: date, zip_file: text, is_mobile: boolean, server_ip: text, product_name: text }`,
  `transforms:
  customers:
    - rename: { nom: last_name }
    - derive: { billing_address_line_1: "concat(a, b)" }
`);
  const findings = lint(text).filter((f) => f.rule === 'pii-untagged');
  assert.deepEqual(where(findings), [
    'pii-untagged 8:22 sources[0].streams[0].primary_key',
    'pii-untagged 9:20 sources[0].streams[0].columns.customer_email',
    'pii-untagged 9:67 sources[0].streams[0].columns.Phone2',
    'pii-untagged 9:81 sources[0].streams[0].columns.date_of_birth',
    'pii-untagged 12:22 transforms.customers[0].rename.nom',
    'pii-untagged 13:17 transforms.customers[1].derive.billing_address_line_1',
  ]);
  assert.ok(findings.every((f) => f.severity === 'warning'));
  assert.equal(findings[1].message, 'declared column `customer_email` of stream `customers` looks like personal data but is not tagged: its values would be kept in clear in logs, alerts and the dead-letter queue; expected `pii: [customer_email]` on the stream (or `customer_email: { type: text, pii: true }`)');
  // A rename is tagged by its source column, as `pii` names columns as the source has them.
  assert.match(findings[4].message, /rename target `last_name` .* expected `pii: \[nom\]` on the stream$/);

  // Tagged by the list (a rename's source tags its target) or on the declared column: nothing to say.
  const tagged = stream(`        primary_key: customerEmail
        pii: [customerEmail, Phone2, date_of_birth, nom, billing_address_line_1]
        columns: { customer_email: { type: text, pii: true }, Phone2: text, date_of_birth: date }`, `transforms:
  customers:
    - rename: { nom: last_name }
    - derive: { billing_address_line_1: "concat(a, b)" }
`);
  assert.deepEqual(lint(tagged).filter((f) => f.rule.startsWith('pii-')), []);
});

test('pii-undeclared-column: with `columns:` declared, a pii entry the file names nowhere (a typo tags nothing)', () => {
  const stream = (body: string): string => `pipeline: people
sources:
  - name: files
    type: csv
    streams:
      - name: customers
        path: customers.csv
        primary_key: id
${body}
`;
  const findings = lint(stream('        columns: { id: integer, email: text }\n        pii: [emial, id]')).filter((f) => f.rule === 'pii-undeclared-column');
  assert.deepEqual(where(findings), ['pii-undeclared-column 10:15 sources[0].streams[0].pii[0]']);
  assert.match(findings[0].message, /^pii column `emial` of stream `customers` is not among its declared columns.*: did you mean `email`\? a misspelt tag masks nothing/);
  // Without `columns:` the stream's columns come from the data: any name may be right.
  assert.deepEqual(lint(stream('        pii: [emial]')), []);
});
