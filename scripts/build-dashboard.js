// The dashboard (dashboard/, Preact and uPlot) as three static files for `sluice serve`: dist/dashboard/index.html,
// app.js and app.css. The server serves them at / and /assets/; the page loads nothing else, from nowhere else.
// Type-checks dashboard/ first (its own tsconfig: DOM, JSX), since esbuild only strips the types.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import process from 'node:process';
import { gzipSync } from 'node:zlib';

const out = 'dist/dashboard';
const budget = 200 * 1024;

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', 'dashboard/tsconfig.json'], { stdio: 'inherit' });

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const common = { bundle: true, minify: true, legalComments: 'none', logLevel: 'warning' };
await build({
  ...common,
  entryPoints: { app: 'dashboard/main.tsx' },
  outdir: out,
  format: 'iife',
  target: ['es2020'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  define: { 'process.env.NODE_ENV': '"production"' },
});
// uPlot's stylesheet first, so the dashboard's own rules can adjust it.
await build({ ...common, entryPoints: { app: 'dashboard/app.css' }, outdir: out, loader: { '.css': 'css' } });
copyFileSync('dashboard/index.html', `${out}/index.html`);

let total = 0;
for (const f of ['index.html', 'app.js', 'app.css']) {
  const bytes = readFileSync(`${out}/${f}`);
  const gz = gzipSync(bytes, { level: 9 }).length;
  total += gz;
  process.stdout.write(`dashboard: ${f.padEnd(10)} ${(bytes.length / 1024).toFixed(1).padStart(6)} KB, ${(gz / 1024).toFixed(1).padStart(5)} KB gzipped\n`);
}
process.stdout.write(`dashboard: ${(total / 1024).toFixed(1)} KB gzipped in all (budget ${budget / 1024} KB)\n`);
if (total > budget) throw new Error(`dashboard: ${total} bytes gzipped, over the ${budget}-byte budget`);
