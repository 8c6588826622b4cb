// Dead-letter payloads at rest: with SLUICE_ENCRYPTION_KEY, no value of a `pii` column of a rejected row is found in
// plain text anywhere under $SLUICE_HOME, and `sluice dlq` and replay read the entries decrypted; keys rotate; without
// the key an entry is listed as undecryptable; without any key, tagged values are masked; a bad key is exit 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openDatabase } from '../../src/core/sqlite-driver.js';
import { PII_MASK, PII_WITHHELD } from '../../src/core/pii.js';
import { PG_URL, pgQuery, sluice, tempDir } from '../helpers.js';
import { api, serve, TOKEN } from '../support/serve-process.js';

const ALICE = 'alice.secret@example.org'; // rejected by a check
const BOB = 'bob.hidden@example.net'; // on a line that does not parse
const TAGGED = [ALICE, BOB];

const pipeline = (max: number) => `pipeline: people
sources:
  - name: f
    type: csv
    streams:
      - name: people
        path: people.csv
        pii: [email]
        columns: { id: integer, age: integer }
checks:
  people:
    - range: { column: age, min: 0, max: ${max} }
      severity: error
    - regex: { column: email, pattern: "^[a-z.]+@example\\\\.(com|net)$" }
      severity: error
destination: { type: sqlite, path: out.db }
`;

function project(): { dir: string; home: string; file: string; cleanup: () => void } {
  const { dir, cleanup } = tempDir();
  writeFileSync(join(dir, 'people.csv'), `id,email,age\n1,ok.person@example.com,30\n2,${ALICE},999\n3,${BOB},40,extra\n4,dan@example.com,50\n`);
  writeFileSync(join(dir, 'p.yaml'), pipeline(150));
  return { dir, home: join(dir, '.sluice'), file: join(dir, 'p.yaml'), cleanup };
}

/** Every file under `root` that holds one of `values` in plain text, with the value. */
function plainTextHits(root: string, values: string[]): string[] {
  const hits: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const bytes = readFileSync(p);
        for (const v of values) if (bytes.includes(Buffer.from(v)) || bytes.includes(Buffer.from(v, 'utf16le'))) hits.push(`${p}: ${v}`);
      }
    }
  };
  walk(root);
  return hits;
}

interface Entry { id: number; stage: string; raw: string; reason: string; undecryptable?: boolean }
const list = async (home: string, env: NodeJS.ProcessEnv): Promise<Entry[]> => {
  const r = await sluice(['dlq', 'list', '--all', '--json'], { home, env });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Entry[];
};

test('with a key, DLQ payloads are encrypted at rest, read decrypted, and survive a key rotation', async () => {
  const p = project();
  const k1 = randomBytes(32).toString('hex');
  const k2 = randomBytes(32).toString('base64');
  try {
    const run = await sluice(['run', p.file, '--json'], { home: p.home, env: { SLUICE_ENCRYPTION_KEY: k1, SLUICE_LOG_LEVEL: 'debug' } });
    assert.equal(run.code, 3, run.stderr);
    for (const v of TAGGED) assert.ok(!run.stderr.includes(v), `no tagged value in the logs: ${v}`);

    // (i) decrypted for `sluice dlq`, nowhere in plain text under SLUICE_HOME (the SQLite file, its WAL, anything).
    const entries = await list(p.home, { SLUICE_ENCRYPTION_KEY: k1 });
    assert.equal(entries.length, 2, JSON.stringify(entries));
    const check = entries.find((e) => e.stage === 'check')!;
    const parse = entries.find((e) => e.stage === 'parse')!;
    assert.equal(JSON.parse(check.raw).email, ALICE);
    assert.ok(parse.raw.includes(BOB), parse.raw);
    assert.match(check.reason, /age/);
    assert.ok(!check.reason.includes(ALICE), `the reason does not quote the tagged value: ${check.reason}`);
    assert.deepEqual(plainTextHits(p.home, [...TAGGED, 'alice.secret', 'bob.hidden']), []);
    const db = openDatabase(join(p.home, 'control.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT raw, reason FROM dlq').all() as { raw: string; reason: string }[];
      assert.ok(rows.every((r) => r.raw.startsWith('sluice:enc:v1:') && r.reason.startsWith('sluice:enc:v1:')), JSON.stringify(rows));
    } finally {
      db.close();
    }
    // A re-run of the same file adds no copy: de-duplication is on the plain payload.
    await sluice(['run', p.file, '--full-refresh'], { home: p.home, env: { SLUICE_ENCRYPTION_KEY: k1 } });
    assert.equal((await list(p.home, { SLUICE_ENCRYPTION_KEY: k1 })).length, 2);

    // (ii) rotation: the new key with the old one listed reads the old entries; without it, they are undecryptable.
    const rotated = { SLUICE_ENCRYPTION_KEY: k2, SLUICE_ENCRYPTION_OLD_KEYS: k1 };
    assert.equal(JSON.parse((await list(p.home, rotated)).find((e) => e.stage === 'check')!.raw).email, ALICE);
    const locked = await list(p.home, { SLUICE_ENCRYPTION_KEY: k2 });
    assert.equal(locked.length, 2);
    assert.ok(locked.every((e) => e.undecryptable && /cannot decrypt/.test(e.reason) && !e.raw.includes(ALICE)), JSON.stringify(locked));
    const text = await sluice(['dlq', 'list'], { home: p.home, env: { SLUICE_ENCRYPTION_KEY: k2 } });
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /cannot decrypt/);
    const show = await sluice(['dlq', 'show', String(check.id)], { home: p.home, env: {} });
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /cannot decrypt/);

    // Replay decrypts: with the check relaxed, the rejected row loads; the parse error is not replayable.
    writeFileSync(p.file, pipeline(1000).replace(/\n {4}- regex.*\n.*\n/, '\n'));
    const noKey = await sluice(['dlq', 'replay', p.file, '--json'], { home: p.home, env: { SLUICE_ENCRYPTION_KEY: k2 } });
    assert.deepEqual(JSON.parse(noKey.stdout).replayed, 0, 'an undecryptable entry is never replayed');
    const replay = await sluice(['dlq', 'replay', p.file, '--json'], { home: p.home, env: rotated });
    const r = JSON.parse(replay.stdout) as { replayed: number; not_replayable: number };
    assert.equal(r.replayed, 1, replay.stdout + replay.stderr);
    assert.equal(r.not_replayable, 1);
    assert.deepEqual(plainTextHits(p.home, TAGGED), []);
  } finally {
    p.cleanup();
  }
});

test('without a key, tagged values are masked in the DLQ and such entries are not replayed', async () => {
  const p = project();
  try {
    const run = await sluice(['run', p.file, '--json'], { home: p.home, env: { SLUICE_LOG_LEVEL: 'debug' } });
    assert.equal(run.code, 3, run.stderr);
    const entries = await list(p.home, {});
    assert.equal(entries.length, 2);
    const check = entries.find((e) => e.stage === 'check')!;
    assert.deepEqual(JSON.parse(check.raw), { id: '2', email: PII_MASK, age: '999' });
    assert.equal(entries.find((e) => e.stage === 'parse')!.raw, PII_WITHHELD);
    assert.deepEqual(plainTextHits(p.home, TAGGED), []);
    writeFileSync(p.file, pipeline(1000));
    const replay = JSON.parse((await sluice(['dlq', 'replay', p.file, '--json'], { home: p.home })).stdout) as { replayed: number; not_replayable: number };
    assert.deepEqual([replay.replayed, replay.not_replayable], [0, 2]);
  } finally {
    p.cleanup();
  }
});

test('privacy: { dlq: mask } masks tagged values even with a key set', async () => {
  const p = project();
  try {
    writeFileSync(p.file, `privacy: { dlq: mask }\n${pipeline(150)}`);
    const env = { SLUICE_ENCRYPTION_KEY: randomBytes(32).toString('hex') };
    const run = await sluice(['run', p.file, '--json'], { home: p.home, env });
    assert.equal(run.code, 3, run.stderr);
    const check = (await list(p.home, env)).find((e) => e.stage === 'check')!;
    assert.deepEqual(JSON.parse(check.raw), { id: '2', email: PII_MASK, age: '999' });
    assert.deepEqual(plainTextHits(p.home, TAGGED), []);
  } finally {
    p.cleanup();
  }
});

test('without a key, a payload that does not parse in a pii stream is withheld, and its reason quotes nothing', async () => {
  const { dir, cleanup } = tempDir();
  const home = join(dir, '.sluice');
  try {
    writeFileSync(join(dir, 'e.ndjson'), `{"id":1,"email":"ok@example.com"}\n{"id":2,"email":"${BOB}"\n{"id":3,"email":"${ALICE}","n":1}\n`);
    writeFileSync(join(dir, 'p.yaml'), `pipeline: events
sources:
  - name: f
    type: ndjson
    streams:
      - { name: events, path: e.ndjson, pii: email }
destination: { type: sqlite, path: out.db }
`);
    const run = await sluice(['run', join(dir, 'p.yaml')], { home, env: { SLUICE_LOG_LEVEL: 'debug' } });
    assert.equal(run.code, 3, run.stderr);
    assert.ok(!run.stderr.includes(BOB), run.stderr);
    const [entry] = await list(home, {});
    assert.equal(entry.stage, 'parse');
    assert.equal(entry.raw, PII_WITHHELD);
    assert.ok(!entry.reason.includes('bob'), entry.reason);
    assert.deepEqual(plainTextHits(home, [BOB]), []);
  } finally {
    cleanup();
  }
});

test('the HTTP API reads the entries decrypted', async () => {
  const p = project();
  const env = { SLUICE_ENCRYPTION_KEY: randomBytes(32).toString('hex') };
  let server: ReturnType<typeof serve> | undefined;
  try {
    assert.equal((await sluice(['run', p.file], { home: p.home, env })).code, 3);
    writeFileSync(join(p.dir, 'tokens.txt'), `ops: ${TOKEN}\n`);
    server = serve(p.dir, p.home, 'serve', [], env);
    const url = await server.url;
    const rows = (await api(url, '/api/dlq?pipeline=people')).body.rows as Entry[];
    assert.equal(rows.length, 2);
    const check = rows.find((e) => e.stage === 'check')!;
    assert.equal(JSON.parse(check.raw).email, ALICE);
    assert.equal(JSON.parse((await api(url, `/api/dlq/${check.id}`)).text).raw, check.raw);
    assert.ok(!server.log().includes(ALICE));
  } finally {
    server?.child.kill('SIGKILL');
    p.cleanup();
  }
});

test('a malformed key fails with exit 2 naming the variable, before any work', async () => {
  const p = project();
  try {
    for (const args of [['run', p.file], ['dlq', 'list']]) {
      const r = await sluice(args, { home: p.home, env: { SLUICE_ENCRYPTION_KEY: 'hunter2-not-a-key' } });
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /SLUICE_ENCRYPTION_KEY: not a valid encryption key/);
      assert.ok(!r.stderr.includes('hunter2'));
    }
    assert.deepEqual(readdirSync(p.dir).sort(), ['p.yaml', 'people.csv'], 'nothing was written');
  } finally {
    p.cleanup();
  }
});

test('the PostgreSQL control store keeps the payloads encrypted too', async () => {
  const p = project();
  const schema = `sluice_test_enc_${randomBytes(4).toString('hex')}`;
  const env = { SLUICE_ENCRYPTION_KEY: randomBytes(32).toString('hex'), SLUICE_CONTROL_URL: `${PG_URL}?schema=${schema}` };
  try {
    const run = await sluice(['run', p.file, '--json'], { home: p.home, env });
    assert.equal(run.code, 3, run.stderr);
    const stored = await pgQuery(`SELECT convert_from(raw, 'UTF8') AS raw, reason FROM "${schema}".dlq`);
    assert.equal(stored.length, 2);
    assert.ok(stored.every((r) => String(r.raw).startsWith('sluice:enc:v1:') && String(r.reason).startsWith('sluice:enc:v1:')), JSON.stringify(stored));
    const entries = await list(p.home, env);
    assert.equal(JSON.parse(entries.find((e) => e.stage === 'check')!.raw).email, ALICE);
  } finally {
    await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    p.cleanup();
  }
});
