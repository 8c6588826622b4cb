// Fails the build when docs/pipeline.schema.json or docs/config-reference.md differ from what the connector
// specs generate. Runs after `tsc` in `npm test`; `node scripts/check-docs.js [outDir]` (default dist).
import { readFileSync } from 'node:fs';
import process from 'node:process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = process.argv[2] ?? 'dist';
const docs = await import(pathToFileURL(join(root, outDir, 'src', 'config', 'generate-docs.js')).href);

const expected = {
  'docs/pipeline.schema.json': docs.schemaText(),
  'docs/config-reference.md': docs.generateReference(),
};
const stale = [];
for (const [file, text] of Object.entries(expected)) {
  let committed;
  try {
    committed = readFileSync(join(root, file), 'utf8');
  } catch {
    committed = undefined;
  }
  if (committed !== text) stale.push(file);
}
if (stale.length > 0) {
  process.stderr.write(`docs out of date: run npm run docs (${stale.join(', ')})\n`);
  process.exit(1);
}
process.stdout.write('docs up to date\n');
