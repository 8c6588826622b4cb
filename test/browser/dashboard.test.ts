// The dashboard end to end, in Debian's Chromium against a real `sluice serve` process: nothing shows before the
// login; a run triggered from the page is watched to its end without a reload; its counts add up and its timeline
// and log lines show; the data it loaded is previewed, a hostile `<script>` in it rendered as text (and never run);
// a dead-lettered row is replayed once the pipeline accepts it and the counts change; a read-only token can look but
// not act; the pages fit a phone. Screenshots of each page are kept in test-artifacts/dashboard/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, Page } from 'playwright-core';
import { tempDir } from '../helpers.js';
import { launchBrowser } from '../support/browser.js';
import { api, serve, TOKEN } from '../support/serve-process.js';

const VIEWER = 'viewer-token-0123456789abcdef';
const OPERATOR = 'operator-token-0123456789abcdef';
const SHOTS = resolve('test-artifacts/dashboard');
const HOSTILE = '<script>alert("x")</script>';
const BULK = 1_500_000;

const pipelineFile = (accepted: string[]) => `pipeline: shop
description: Orders from the shop's files ${HOSTILE}
sources:
  - name: files
    type: csv
    streams:
      - name: orders
        path: orders.csv
        primary_key: id
        write: merge
        columns: { id: integer, amount: integer }
transforms:
  orders:
    - trim: [note]
checks:
  orders:
    - accepted_values: { column: status, values: [${accepted.join(', ')}] }
destination: { type: sqlite, path: out.db }
schedule: { cron: "0 0 1 1 *" }
`;

let browser: Browser;
let dir: string;
let cleanup: () => void;
let server: ReturnType<typeof serve>;
let url: string;
/** Whatever a page logged as an error, or a dialog it opened (an `alert()` from injected markup would be one). */
const incidents: string[] = [];

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  ({ dir, cleanup } = tempDir());
  writeFileSync(join(dir, 'tokens.txt'), `ops: ${TOKEN}\nviewer: ${VIEWER} read-only\nrunner: ${OPERATOR} operator\n`);
  writeFileSync(join(dir, 'orders.csv'), [
    'id,status,amount,note',
    `1,new,10,"${HOSTILE.replace(/"/g, '""')}"`,
    '2,paid,20,<img src=x onerror=alert(2)>',
    '3,refunded,30,a refund',
    '4,new,40,plain',
  ].join('\n') + '\n');
  writeFileSync(join(dir, 'shop.yaml'), pipelineFile(['new', 'paid']));
  // Big enough to take a few seconds, so its run page is seen while it runs.
  writeFileSync(join(dir, 'bulk.csv'), 'id,name,amount\n' + Array.from({ length: BULK }, (_, i) => `${i},name ${i},${i % 1000}`).join('\n') + '\n');
  writeFileSync(join(dir, 'bulk.yaml'), `pipeline: bulk
sources:
  - name: files
    type: csv
    streams:
      - name: rows
        path: bulk.csv
        columns: { id: integer, amount: integer }
destination: { type: sqlite, path: bulk.db }
batch_size: 5000
`);
  server = serve(dir, join(dir, '.sluice'), 'dashboard');
  url = await server.url;
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.child.kill('SIGKILL');
  cleanup?.();
});

async function open(width = 1280, height = 800): Promise<Page> {
  const page = await browser.newPage({ viewport: { width, height } });
  page.on('dialog', (d) => {
    incidents.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => incidents.push(`page error: ${e.message}`));
  return page;
}

async function logIn(page: Page, token: string): Promise<void> {
  await page.goto(url + '/');
  await page.getByTestId('login-token').fill(token);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('pipeline-row').first().waitFor();
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
const count = async (page: Page, stream: string, which: string) =>
  Number((await page.locator(`[data-testid=stream-counts][data-stream="${stream}"] [data-count=${which}]`).innerText()).replace(/[^\d]/g, ''));

test('no token, no data: the page shows its login form, a wrong token is refused, the API answers 401', async () => {
  const page = await open();
  await page.goto(url + '/');
  await page.getByTestId('login-form').waitFor();
  assert.equal(await page.getByTestId('pipeline-row').count(), 0);
  const html = await page.content();
  assert.ok(!html.includes('shop'), 'no pipeline name before the login');
  const headers = (await page.request.get(url + '/'))!.headers();
  assert.match(headers['content-security-policy'], /script-src 'self'/);
  assert.equal((await page.request.get(url + '/api/pipelines')).status(), 401);
  await shot(page, 'login');
  await page.getByTestId('login-token').fill('not-the-token-at-all');
  await page.getByTestId('login-submit').click();
  await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
  assert.equal(await page.getByTestId('pipeline-row').count(), 0);
  const cookies = await page.context().cookies();
  assert.equal(cookies.length, 0, 'no cookie for a wrong token');
  await page.close();
});

test('a run triggered from the page is watched to its end; its counts add up, its timeline and logs show; the data is previewed as text', async () => {
  const page = await open();
  await logIn(page, TOKEN);
  const [cookie] = await page.context().cookies();
  assert.deepEqual([cookie.name, cookie.httpOnly, cookie.sameSite], ['sluice_token', true, 'Strict']);
  await page.locator('[data-testid=pipeline-row][data-pipeline=shop] a').first().click();
  // The description (data from the file) is text on the page, its markup inert.
  await page.getByText(`Orders from the shop's files ${HOSTILE}`).waitFor();
  await page.getByTestId('run-now').click();
  // The run shows up in the list (polled) and its page follows it to the end.
  const runLink = page.locator('[data-testid=run-row] a').first();
  await runLink.waitFor({ timeout: 15_000 });
  await runLink.click();
  await page.locator('[data-testid=run-status][data-status=partial_success]').waitFor({ timeout: 20_000 });
  assert.deepEqual(
    [await count(page, 'orders', 'extracted'), await count(page, 'orders', 'loaded'), await count(page, 'orders', 'dead_lettered'), await count(page, 'orders', 'filtered')],
    [4, 3, 1, 0]);
  assert.equal(await page.locator('[data-testid=stream-counts][data-stream=orders]').getAttribute('data-balanced'), 'true');
  assert.equal(await page.getByTestId('counts-mismatch').count(), 0);
  await page.locator('[data-testid=gantt][data-stream=orders]').waitFor();
  // Each transform step's rows: all four went through the trim.
  const trim = page.locator('[data-testid=steps][data-stream=orders] [data-step="0:trim"] td');
  assert.deepEqual((await trim.allInnerTexts()).slice(0, 5), ['0:trim', '4', '4', '0', '0']);
  await page.getByTestId('log-line').filter({ hasText: 'run finished' }).waitFor({ timeout: 10_000 });
  await shot(page, 'run');

  const pipelineUrl = `${url}/#/pipelines/shop/data`;
  await page.goto(pipelineUrl);
  const table = page.getByTestId('preview-table');
  await table.waitFor();
  await page.getByText(HOSTILE, { exact: true }).waitFor();
  assert.ok((await table.innerText()).includes('<img src=x onerror=alert(2)>'));
  assert.equal(await table.locator('script, img').count(), 0, 'values are text, never markup');
  await shot(page, 'data');
  await page.goto(`${url}/#/pipelines/shop/trends`);
  await page.getByTestId('trend-chart').first().waitFor();
  await shot(page, 'trends');
  await page.goto(`${url}/#/`);
  await page.locator('[data-testid=pipeline-row][data-pipeline=shop]').waitFor();
  await shot(page, 'overview');
  assert.deepEqual(incidents, [], 'no dialog opened, no page error');
  await page.close();
});

test('a running run\'s page shows its counts as they grow, without a reload, and its end', async () => {
  const page = await open();
  await logIn(page, TOKEN);
  assert.equal((await api(url, '/api/pipelines/bulk/runs', { method: 'POST' })).status, 202);
  let runId = '';
  for (const end = Date.now() + 10_000; !runId; await sleep(20)) {
    runId = (await api(url, '/api/pipelines/bulk')).body.running?.run_id ?? '';
    assert.ok(Date.now() < end, 'the run starts');
  }
  await page.goto(`${url}/#/runs/${runId}`);
  await page.locator('[data-testid=run-status][data-status=running]').waitFor();
  const seen: number[] = [];
  for (const end = Date.now() + 60_000; ; await sleep(100)) {
    if (await page.locator('[data-testid=run-status][data-status=success]').count()) break;
    const cell = page.locator('[data-testid=stream-counts][data-stream=rows] [data-count=extracted]');
    if (await cell.count()) seen.push(await count(page, 'rows', 'extracted'));
    assert.ok(Date.now() < end, 'the run finishes');
  }
  const partial = [...new Set(seen.filter((n) => n > 0 && n < BULK))];
  assert.ok(partial.length >= 2, `counts grew while it ran: ${partial.join(', ')}`);
  assert.deepEqual(partial, [...partial].sort((a, b) => a - b), 'and only grew');
  assert.equal(await count(page, 'rows', 'loaded'), BULK);
  await page.close();
});

test('a dead-lettered row is replayed from the page once the pipeline accepts it, and the counts change', async () => {
  const page = await open();
  await logIn(page, TOKEN);
  await page.goto(`${url}/#/dlq?pipeline=shop`);
  const row = page.getByTestId('dlq-row');
  await row.first().waitFor();
  assert.equal(await row.count(), 1);
  assert.match(await row.first().innerText(), /accepted_values|status/);
  await row.first().click();
  assert.match(await page.getByTestId('dlq-payload').innerText(), /refunded/);
  await shot(page, 'dlq');

  // The pipeline now accepts the row: serve reloads the file (its audit says so), and the replay loads it.
  writeFileSync(join(dir, 'shop.yaml'), pipelineFile(['new', 'paid', 'refunded']));
  for (const end = Date.now() + 15_000; ; await sleep(100)) {
    const audit = (await api(url, '/api/audit?pipeline=shop&limit=1000')).body.entries as { action: string }[];
    if (audit.some((e) => e.action === 'pipeline.changed')) break;
    assert.ok(Date.now() < end, 'serve reloads the changed pipeline file');
  }
  await page.getByTestId('dlq-replay').click();
  // Replayed rows leave the queue's default view.
  for (const end = Date.now() + 15_000; (await page.locator('[data-testid=dlq-row]:not(.replayed)').count()) > 0; await sleep(100)) {
    assert.ok(Date.now() < end, 'the replayed row leaves the queue');
  }
  const waiting = (await api(url, '/api/dlq?pipeline=shop')).body.rows;
  assert.equal(waiting.length, 0);
  await page.goto(`${url}/#/pipelines/shop/data`);
  await page.getByText('a refund', { exact: true }).waitFor();
  const audit = (await api(url, '/api/audit?pipeline=shop&limit=1000')).body.entries as { action: string; actor: string }[];
  assert.ok(audit.some((e) => e.action === 'dlq.replay' && e.actor === 'token:ops'), 'the replay is in the audit trail');
  await page.close();
});

test('a read-only token looks but cannot act; pause and resume from the page; the overview fits a phone', async () => {
  const viewer = await open();
  await logIn(viewer, VIEWER);
  await viewer.goto(`${url}/#/pipelines/shop`);
  await viewer.getByTestId('run-now').waitFor();
  assert.ok(await viewer.getByTestId('run-now').isDisabled(), 'run now is disabled for a read-only token');
  assert.ok(await viewer.getByTestId('pause').isDisabled());
  assert.equal(await viewer.getByTestId('role').textContent(), ' (read-only)');
  await viewer.close();

  // An operator runs pipelines and replays dead letters, but purging them needs admin: that button says so.
  const operator = await open();
  await logIn(operator, OPERATOR);
  await operator.goto(`${url}/#/pipelines/shop`);
  await operator.getByTestId('run-now').waitFor();
  assert.ok(!(await operator.getByTestId('run-now').isDisabled()), 'run now is enabled for an operator');
  await operator.goto(`${url}/#/dlq?pipeline=shop`);
  await operator.getByTestId('dlq-purge').waitFor();
  assert.ok(await operator.getByTestId('dlq-purge').isDisabled(), 'purge is disabled for an operator');
  assert.match(await operator.getByTestId('dlq-purge').getAttribute('title') ?? '', /needs the admin role/);
  await operator.close();

  const page = await open();
  await logIn(page, TOKEN);
  await page.goto(`${url}/#/pipelines/shop`);
  await page.getByTestId('pause').click();
  await page.getByTestId('paused').waitFor();
  assert.equal((await api(url, '/api/pipelines/shop')).body.paused, true);
  await page.getByTestId('resume').click();
  await page.getByTestId('pause').waitFor();
  assert.equal((await api(url, '/api/pipelines/shop')).body.paused, false);
  await page.close();

  const phone = await open(375, 800);
  await logIn(phone, TOKEN);
  const width = await phone.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 375 + 1, `no sideways scroll of the whole page on a phone (${width}px)`);
  await shot(phone, 'overview-phone');
  await phone.goto(`${url}/#/pipelines/shop`);
  await phone.getByTestId('run-now').waitFor();
  await shot(phone, 'pipeline-phone');
  await phone.close();
  assert.deepEqual(incidents, []);
  assert.ok(readFileSync(join(SHOTS, 'run.png')).length > 1000);
});
