// `pii: true` on a declared column: the loaded config has the type alone and the column in the stream's `pii` list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePipeline } from '../../src/config/load.js';
import { looksPersonal, normalName } from '../../src/config/personal-names.js';

const pipeline = (stream: string): string => `pipeline: people
sources:
  - name: files
    type: csv
    streams:
      - name: customers
        path: customers.csv
${stream}
`;

test('a declared column `{ type, pii: true }` loads as its type, tagged in the stream\'s pii list', () => {
  const loaded = parsePipeline(pipeline(`        pii: [phone]
        columns: { id: integer, email: { type: text, pii: true }, phone: text, total: { type: "decimal(10,2)" }, seen: { type: date, pii: false } }`), { file: 'p.yaml', baseDir: '/p', env: {} });
  const stream = loaded.config.sources[0].streams[0];
  assert.deepEqual(stream.columns, { id: 'integer', email: 'text', phone: 'text', total: 'decimal(10,2)', seen: 'date' });
  assert.deepEqual(stream.pii, ['phone', 'email']);
});

test('the object form is checked like the short one: an unknown type, an unknown key, a decimal out of bounds', () => {
  const fails = (columns: string, re: RegExp) => assert.throws(() => parsePipeline(pipeline(`        columns: ${columns}`), { file: 'p.yaml', baseDir: '/p', env: {} }),
    (e: Error) => re.test(String(e) + ((e as { errors?: Error[] }).errors ?? []).map(String).join('\n')));
  fails('{ email: { type: txt, pii: true } }', /columns\.email/);
  fails('{ email: { type: text, personal: true } }', /columns\.email/);
  fails('{ total: { type: "decimal(2,5)" } }', /no decimal\(p,s\)/);
});

test('personal-looking names: normal form, suffixes that keep the meaning, and what is left out', () => {
  assert.equal(normalName('customerE-Mail2'), 'customer_e_mail2');
  for (const n of ['email', 'e_mail', 'customerEmail', 'Work E-Mail', 'phone', 'mobile', 'first_name', 'LastName', 'full_name', 'surname', 'dob',
    'birth_date', 'date_of_birth', 'ssn', 'national_id', 'passport_number', 'address', 'address_line_2', 'street', 'postcode', 'zip', 'ip',
    'client_ip_address', 'iban', 'card_number', 'customer_name', 'email_hash', 'phone2']) {
    assert.ok(looksPersonal(n), n);
  }
  for (const n of ['email_verified', 'email_opt_in', 'phone_type', 'zip_file', 'is_mobile', 'has_email', 'server_ip', 'host_address', 'product_name',
    'name', 'skip', 'gzip', 'tip_amount', 'shipping_method', 'ip_country']) {
    assert.ok(!looksPersonal(n), n);
  }
});
