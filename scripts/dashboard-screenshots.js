/* global fetch */
// The README's pictures of the dashboard, taken from `sluice serve examples/service` with a few real runs:
// `node scripts/dashboard-screenshots.js` (after `npm run build`; needs Debian's chromium) writes docs/img/dashboard-*.png.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { chromium } from 'playwright-core';

const token = 'screenshots-token-0123456789';
const home = mkdtempSync(join(tmpdir(), 'sluice-shots-'));
const serve = spawn(process.execPath, ['bin/sluice.js', 'serve', 'examples/service', '--port', '0'], {
  env: { ...process.env, SLUICE_HOME: home, SLUICE_TOKEN: token }, stdio: ['ignore', 'ignore', 'pipe'],
});
const url = await new Promise((resolve, reject) => {
  let log = '';
  serve.stderr.on('data', (d) => {
    log += d;
    const m = /API on (http:\/\/\S+)/.exec(log);
    if (m) resolve(m[1]);
  });
  serve.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${log}`)));
});
const api = async (path, method = 'GET') => (await fetch(url + path, { method, headers: { authorization: `Bearer ${token}` } })).json();
const browser = await chromium.launch({
  executablePath: process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  for (let i = 0; i < 5; i++) {
    await api('/api/pipelines/orders-every-minute/runs', 'POST');
    await sleep(1500);
  }
  const runs = (await api('/api/runs?pipeline=orders-every-minute&limit=10')).runs;
  const first = runs.at(-1).run_id;
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url + '/');
  await page.getByTestId('login-token').fill(token);
  await page.getByTestId('login-submit').click();
  await page.getByTestId('pipeline-row').first().waitFor();
  await sleep(500);
  await page.screenshot({ path: 'docs/img/dashboard-overview.png' });
  await page.goto(`${url}/#/runs/${first}`);
  await page.getByTestId('log-line').first().waitFor();
  await sleep(300);
  await page.screenshot({ path: 'docs/img/dashboard-run.png', fullPage: true });
  process.stdout.write('docs/img/dashboard-overview.png, docs/img/dashboard-run.png\n');
} finally {
  await browser.close();
  serve.kill('SIGTERM');
  rmSync(home, { recursive: true, force: true });
}
