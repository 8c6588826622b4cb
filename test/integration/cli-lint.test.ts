// `sluice lint` as a user runs it: a real process, real files and directories, output and exit codes. The command is
// wired into a fresh commander program (as main.ts does), as in cli-validate.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliCommand, repoRoot, tempDir } from '../helpers.js';

const lint = (args: string[], cwd: string) => cliCommand('lint', args, cwd);

const clean = `pipeline: shop
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: data/orders*.csv
        primary_key: [order_id]
        write: merge
checks:
  orders:
    - not_null: [order_id]
`;

/** A warning (a column name) only. */
const warned = clean.replace('        write: merge\n', '        write: merge\n        columns: { OrderTotal: decimal }\n');

/** An error (an inline secret in a URL) and a warning (a merge without checks). */
const risky = `pipeline: warehouse
sources:
  - name: app
    type: postgres
    url: postgres://app:Hunter2-pw@db:5432/app
    streams:
      - name: accounts
        table: public.accounts
        primary_key: id
        write: merge
`;

test('lint: text output, one line per finding and a count line; exit 1 on errors; the secret is never printed', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'risky.yaml'), risky);
    const r = lint(['risky.yaml'], dir);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, [
      'risky.yaml:5:10  error  inline-secret  `url` is a URL with its password written inline (between `user:` and `@`): expected a reference to the environment in its place, such as `${PGPASSWORD}`',
      'risky.yaml:10:16  warning  merge-without-checks  merge stream `accounts` has no `checks:`: a bad export overwrites rows already loaded; expected at least one check under `checks.accounts` (not_null, unique, …)',
      '1 file linted: 1 error, 1 warning',
      '',
    ].join('\n'));
    assert.doesNotMatch(r.stdout + r.stderr, /Hunter2/);
  } finally {
    cleanup();
  }
});

test('lint: a clean file exits 0; warnings exit 0, or 1 with --deny-warnings', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'clean.yaml'), clean);
    writeFileSync(join(dir, 'warned.yaml'), warned);
    const ok = lint(['clean.yaml'], dir);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(ok.stdout, '1 file linted: no findings\n');
    assert.equal(lint(['clean.yaml', '--deny-warnings'], dir).code, 0);

    const w = lint(['warned.yaml'], dir);
    assert.equal(w.code, 0, w.stderr);
    assert.match(w.stdout, /^warned\.yaml:10:20 {2}warning {2}column-name-snake-case {2}declared column `OrderTotal` is not snake_case: .* such as `order_total`\n1 file linted: 0 errors, 1 warning\n$/);
    const denied = lint(['warned.yaml', '--deny-warnings'], dir);
    assert.equal(denied.code, 1);
    assert.equal(denied.stdout, w.stdout);
  } finally {
    cleanup();
  }
});

test('lint --json: exactly one object {files, findings, errors, warnings}', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'risky.yaml'), risky);
    writeFileSync(join(dir, 'clean.yaml'), clean);
    const r = lint(['risky.yaml', 'clean.yaml', '--json'], dir);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout.trimEnd().split('\n').length, 1);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(Object.keys(out), ['files', 'findings', 'errors', 'warnings']);
    assert.deepEqual(out.files, ['risky.yaml', 'clean.yaml']);
    assert.equal(out.errors, 1);
    assert.equal(out.warnings, 1);
    assert.deepEqual(out.findings[0], {
      rule: 'inline-secret', severity: 'error', file: 'risky.yaml', line: 5, column: 10, path: 'sources[0].url',
      message: out.findings[0].message,
    });
    assert.match(out.findings[0].message, /^`url` is a URL with its password written inline/);
    assert.deepEqual(
      { rule: out.findings[1].rule, severity: out.findings[1].severity, line: out.findings[1].line, path: out.findings[1].path },
      { rule: 'merge-without-checks', severity: 'warning', line: 10, path: 'sources[0].streams[0].write' },
    );
    assert.doesNotMatch(r.stdout, /Hunter2/);

    const w = lint(['clean.yaml', '--json', '--deny-warnings'], dir);
    assert.equal(w.code, 0);
    assert.deepEqual(JSON.parse(w.stdout), { files: ['clean.yaml'], findings: [], errors: 0, warnings: 0 });
  } finally {
    cleanup();
  }
});

test('lint: a directory means its pipeline files; invalid files are errors with validate\'s messages', () => {
  const { dir, cleanup } = tempDir();
  try {
    mkdirSync(join(dir, 'pipelines', 'nested'), { recursive: true });
    writeFileSync(join(dir, 'pipelines', 'a.yaml'), clean);
    writeFileSync(join(dir, 'pipelines', 'b.yml'), clean.replace('pipeline: shop', 'pipeline: shop-b').replace('primary_key:', 'primery_key:'));
    writeFileSync(join(dir, 'pipelines', 'sluice.yaml'), 'alerts:\n  channels: {}\n');
    writeFileSync(join(dir, 'pipelines', 'notes.txt'), 'pipeline: not-yaml\n');
    writeFileSync(join(dir, 'pipelines', 'nested', 'c.yaml'), risky);
    const r = lint(['pipelines', '--json'], dir);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.deepEqual(out.files, ['pipelines/a.yaml', 'pipelines/b.yml']);
    const invalid = out.findings.filter((f: { rule: string }) => f.rule === 'invalid-pipeline');
    assert.deepEqual(invalid.map((f: { file: string; line: number; column: number; path: string }) => `${f.file}:${f.line}:${f.column} ${f.path}`), [
      'pipelines/b.yml:8:9 sources[0].streams[0].primery_key',
    ]);
    assert.match(invalid[0].message, /unknown key .*did you mean `primary_key`\?$/);
    assert.equal(out.errors, out.findings.filter((f: { severity: string }) => f.severity === 'error').length);
    assert.ok(out.errors >= 1);
  } finally {
    cleanup();
  }
});

test('lint: usage errors exit 2 (no such file, a directory without pipelines, no argument)', () => {
  const { dir, cleanup } = tempDir();
  try {
    writeFileSync(join(dir, 'clean.yaml'), clean);
    const missing = lint(['clean.yaml', 'nope.yaml'], dir);
    assert.equal(missing.code, 2);
    assert.equal(missing.stdout, '');
    assert.equal(missing.stderr, 'error: nope.yaml no such file or directory\n');
    mkdirSync(join(dir, 'empty'));
    const empty = lint(['empty'], dir);
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /^error: empty no pipeline files/);
    assert.equal(lint([], dir).code, 2);
  } finally {
    cleanup();
  }
});

test('lint: the examples lint without errors', () => {
  const dirs = readdirSync(join(repoRoot, 'examples')).map((d) => `examples/${d}`);
  assert.ok(dirs.length >= 6);
  const r = lint([...dirs, '--json'], repoRoot);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const out = JSON.parse(r.stdout) as { files: string[]; errors: number; findings: unknown[]; warnings: number };
  for (const d of dirs) assert.ok(out.files.some((f) => f.startsWith(`${d}/`)), `${d} has a pipeline linted`);
  assert.equal(out.errors, 0);
  assert.equal(out.findings.length, out.warnings);
});
