// Alerts under `sluice serve`: the project file's rules and a pipeline's own, evaluated after runs and when a file
// breaks, delivered through the outbox to a real webhook receiver on loopback, signed, fired once and resolved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqliteControlStore } from '../../src/control/sqlite-store.js';
import { parsePipeline } from '../../src/config/load.js';
import { ConfigError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import { startServer } from '../../src/server/serve.js';
import { loadTokens } from '../../src/server/tokens.js';
import { tempDir } from '../helpers.js';

const SECRET = 'hook-secret-for-tests';

const pipeline = (name: string, extra = '') => `pipeline: ${name}
sources:
  - name: files
    type: csv
    streams:
      - name: rows
        path: ${name}.csv
destination: { type: sqlite, path: out-${name}.db }
schedule: { cron: "0 0 1 1 *" }
${extra}`;

async function receiver() {
  const got: { headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { got, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => new Promise((r) => server.close(r)) };
}

const waitFor = async (what: string, ok: () => boolean, ms = 10_000) => {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (ok()) return;
  assert.fail(`timed out waiting for ${what}`);
};

test('serve alerts: run_failed fires once and resolves, a pipeline\'s own rule adds to the project\'s, a broken file fires pipeline_invalid', async () => {
  const { dir, cleanup } = tempDir();
  const hook = await receiver();
  const store = new SqliteControlStore(join(dir, '.sluice'));
  writeFileSync(join(dir, 'sluice.yaml'), `alerts:
  channels:
    hook: { type: webhook, url: "${hook.url}", secret: "\${HOOK_SECRET}" }
  rules:
    - { when: run_failed, channels: [hook] }
    - { when: pipeline_invalid, channels: [hook] }
`);
  writeFileSync(join(dir, 'fragile.yaml'), pipeline('fragile'));
  writeFileSync(join(dir, 'own.yaml'), pipeline('own', 'alerts:\n  rules:\n    - { name: own-failure, when: run_failed, channels: [hook] }\n'));
  const server = await startServer({
    paths: [dir], store, logger: silentLogger(), tokens: loadTokens({ env: { SLUICE_TOKEN: 'token-for-rerun-test' } }), port: 0, alertIntervalMs: 200, watchMs: 100, env: { ...process.env, HOOK_SECRET: SECRET },
  });
  try {
    await waitFor('leadership', () => server.service.scheduler.isLeader);
    await server.service.trigger('fragile', 'test'); // fragile.csv does not exist: the run fails
    await waitFor('the firing', () => hook.got.length >= 1);
    await sleep(600); // more evaluations: no repeat within `repeat` (4h)
    const firing = hook.got.map((g) => JSON.parse(g.body) as Record<string, string>);
    assert.equal(firing.length, 1, JSON.stringify(firing));
    assert.equal(firing[0].event, 'alert.firing');
    assert.equal(firing[0].rule, 'run_failed');
    assert.equal(firing[0].pipeline, 'fragile');
    assert.equal(firing[0].severity, 'critical');
    const h = hook.got[0].headers;
    const expected = createHmac('sha256', SECRET).update(`${h['webhook-id']}.${h['webhook-timestamp']}.${hook.got[0].body}`).digest('base64');
    assert.equal(h['webhook-signature'], `v1,${expected}`);

    writeFileSync(join(dir, 'fragile.csv'), 'id\n1\n');
    // The API's rerun: the failed run's failed streams again, queued like a trigger.
    const [failedRun] = await store.listRuns({ pipeline: 'fragile' });
    const rerun = await fetch(`${server.url}/api/runs/${failedRun.run_id}/rerun`, { method: 'POST', headers: { authorization: 'Bearer token-for-rerun-test' } });
    assert.equal(rerun.status, 202);
    assert.deepEqual(((await rerun.json()) as { streams: string[] }).streams, ['rows']);
    await waitFor('the resolve', () => hook.got.length >= 2);
    const resolved = JSON.parse(hook.got[1].body) as Record<string, string>;
    assert.equal(resolved.event, 'alert.resolved');
    assert.equal(resolved.dedup_key, firing[0].dedup_key);
    const again = await fetch(`${server.url}/api/runs/${failedRun.run_id}/rerun`, { method: 'POST', headers: { authorization: 'Bearer token-for-rerun-test' } });
    assert.equal(again.status, 202, 'still failed: it may be rerun again');
    const [latest] = await store.listRuns({ pipeline: 'fragile' });
    const refused = await fetch(`${server.url}/api/runs/${latest.run_id}/rerun`, { method: 'POST', headers: { authorization: 'Bearer token-for-rerun-test' } });
    assert.equal(refused.status, 409);
    assert.match(((await refused.json()) as { error: string }).error, /only a failed run is rerun/);

    await server.service.trigger('own', 'test'); // own.csv is missing too: the project's rule and its own fire
    await waitFor('both rules', () => hook.got.length >= 4);
    const own = hook.got.slice(2).map((g) => JSON.parse(g.body) as Record<string, string>);
    assert.deepEqual(own.map((b) => `${b.pipeline}:${b.rule}:${b.event}`).sort(), ['own:own-failure:alert.firing', 'own:run_failed:alert.firing']);

    writeFileSync(join(dir, 'fragile.yaml'), pipeline('fragile').replace('type: csv', 'type: cvs'));
    await waitFor('pipeline_invalid', () => hook.got.length >= 5);
    const invalid = JSON.parse(hook.got[4].body) as Record<string, string>;
    assert.equal(invalid.rule, 'pipeline_invalid');
    assert.equal(invalid.pipeline, 'fragile');
    assert.match(invalid.summary, /cvs/);
    assert.ok(!hook.got.some((g) => g.body.includes(SECRET)), 'the secret is never sent');
    const audit = (await store.listAudit({})).filter((e) => e.action.startsWith('alert.'));
    assert.deepEqual(audit.map((e) => e.action), ['alert.sent', 'alert.resolved', 'alert.sent', 'alert.sent', 'alert.sent']);

    // The project file is read again when it changes: a broken edit keeps the last good version in force, a fixed one
    // brings its new rule, which fires for `own` (its last run failed) without another run.
    const project = (extra: string) => `alerts:
  channels:
    hook: { type: webhook, url: "${hook.url}", secret: "\${HOOK_SECRET}" }
  rules:
    - { when: run_failed, channels: [hook] }
    - { when: pipeline_invalid, channels: [hook] }
${extra}`;
    writeFileSync(join(dir, 'sluice.yaml'), project('    - { name: project-late, when: run_failed, channels: [nobody] }\n'));
    await sleep(600);
    assert.equal(hook.got.length, 5, 'a broken project file changes nothing');
    writeFileSync(join(dir, 'sluice.yaml'), project('    - { name: project-late, when: run_failed, channels: [hook] }\n'));
    await waitFor('the new rule', () => hook.got.length >= 6);
    const late = JSON.parse(hook.got[5].body) as Record<string, string>;
    assert.deepEqual([late.rule, late.pipeline, late.event], ['project-late', 'own', 'alert.firing']);
  } finally {
    await server.stop();
    await store.close();
    await hook.close();
    cleanup();
  }
});

test('a broken project file or a bad alerts block stops serve before any work, naming file, line and key', async () => {
  const { dir, cleanup } = tempDir();
  const store = new SqliteControlStore(join(dir, '.sluice'));
  try {
    writeFileSync(join(dir, 'p.yaml'), pipeline('p'));
    writeFileSync(join(dir, 'sluice.yaml'), 'alerts:\n  rules:\n    - { when: quality_below, threshold: 120, channels: [nobody] }\nextra: 1\n');
    const err = await startServer({ paths: [dir], store, logger: silentLogger(), tokens: [], port: 0 }).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ConfigError, String(err));
    const all = ('errors' in err ? (err as { errors: ConfigError[] }).errors : [err]).map(String).join('\n');
    assert.match(all, /sluice\.yaml:3:\d+ alerts\.rules\[0\]\.threshold/);
    assert.match(all, /sluice\.yaml:4:1 extra unknown key `extra` in the project file/);
    assert.equal((await store.listRuns({})).length, 0);
  } finally {
    await store.close();
    cleanup();
  }
});

test('a pipeline\'s alerts block is validated with the pipeline: file, line, key and what is expected', () => {
  const text = pipeline('p', 'alerts:\n  rules:\n    - { when: quality_below, threshold: 120, channels: [team] }\n    - { when: freshnes, channels: [team] }\n');
  const err = (() => { try { parsePipeline(text, { file: '/x/p.yaml', baseDir: '/x' }); } catch (e) { return e; } })();
  assert.ok(err instanceof ConfigError);
  const all = ('errors' in err ? (err as { errors: ConfigError[] }).errors : [err]).map(String).join('\n');
  assert.match(all, /p\.yaml:12:\d+ alerts\.rules\[0\]\.threshold expected a score from 0 to 100, got `120`/);
  assert.match(all, /p\.yaml:13:\d+ alerts\.rules\[1\]\.when .*freshness/);
  // Channels of the project file are allowed here: they are checked when serve reads both.
  assert.equal(parsePipeline(pipeline('p', 'alerts:\n  rules:\n    - { when: run_failed, channels: [team] }\n'), { file: '/x/p.yaml', baseDir: '/x' }).config.pipeline, 'p');
});
