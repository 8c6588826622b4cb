// The layer check (scripts/check-layers.js) holds for src/ against docs/architecture.md, and catches what it is for:
// an import upward, a folder without a row, a cycle between sibling folders, dynamic and type-only imports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { repoRoot, tempDir } from '../helpers.js';

interface LayerCheck {
  checkProject(root: string): string[];
}
const load = async (): Promise<LayerCheck> => import(new URL('../../../scripts/check-layers.js', import.meta.url).href);

const DOC = `# Architecture

## Layers
| folder | may import | holds |
|---|---|---|
| \`core\` | — | types |
| \`connectors\` | \`core\` | connectors |
| \`engine\` | \`core\`, \`connectors\` | runner |

## Pieces
| \`cli\` | \`engine\` | not a layer row: another section |
`;

function project(files: Record<string, string>): { root: string; cleanup: () => void } {
  const { dir, cleanup } = tempDir('sluice-layers-');
  mkdirSync(join(dir, 'docs'));
  writeFileSync(join(dir, 'docs', 'architecture.md'), DOC);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, 'src', path)), { recursive: true });
    writeFileSync(join(dir, 'src', path), text);
  }
  return { root: dir, cleanup };
}

test('src/ keeps the layers and has no import cycle between folders', async () => {
  const { checkProject } = await load();
  assert.deepEqual(checkProject(repoRoot), []);
});

test('downward imports, and a registry with its plug-ins, pass', async () => {
  const { checkProject } = await load();
  const p = project({
    'core/types.ts': 'export type Row = unknown[];\n',
    'connectors/registry.ts': "import { spec } from './pg/pg-spec.js';\nexport const all = [spec];\n",
    'connectors/contract.ts': "import type { Row } from '../core/types.js';\nexport type Spec = { rows: Row };\n",
    'connectors/pg/pg-spec.ts': "import type { Spec } from '../contract.js';\nexport const spec = {} as Spec;\n",
    'engine/runner.ts': "import { all } from '../connectors/registry.js';\nexport const n = all.length;\n",
  });
  try {
    assert.deepEqual(checkProject(p.root), []);
  } finally {
    p.cleanup();
  }
});

test('an upward import fails with the file, the target and what the layer may import, whatever the import form', async () => {
  const { checkProject } = await load();
  const p = project({
    'core/coerce.ts': "export { runner } from '../engine/runner.js';\n",
    'connectors/pg/load.ts': "import type { Runner } from '../../engine/runner.js';\nexport const x: Runner | undefined = undefined;\n",
    'connectors/pg/lazy.ts': "export const later = () => import('../../engine/runner.js');\n",
    'engine/runner.ts': 'export type Runner = object;\nexport const runner = {};\n',
  });
  try {
    const problems = checkProject(p.root);
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0], /^src\/connectors\/pg\/lazy\.ts imports src\/engine\/runner: connectors may import core /);
    assert.match(problems[1], /^src\/connectors\/pg\/load\.ts imports src\/engine\/runner: connectors may import core /);
    assert.match(problems[2], /^src\/core\/coerce\.ts imports src\/engine\/runner: core may import nothing of src/);
  } finally {
    p.cleanup();
  }
});

test('a folder without a row, and a cycle between sibling folders, fail', async () => {
  const { checkProject } = await load();
  const p = project({
    'server/app.ts': 'export const app = 1;\n',
    'connectors/sql/keyset.ts': "import { quote } from '../pg/quote.js';\nexport const k = quote;\n",
    'connectors/pg/quote.ts': "import { k } from '../sql/keyset.js';\nexport const quote = 1;\nexport const again = k;\n",
  });
  try {
    const problems = checkProject(p.root);
    assert.equal(problems.length, 2, problems.join('\n'));
    assert.match(problems[0], /^src\/server\/ has no row in the Layers table/);
    assert.match(problems[1], /^import cycle between folders src\/connectors\/pg → src\/connectors\/sql → src\/connectors\/pg: src\/connectors\/pg\/quote\.ts → src\/connectors\/sql\/keyset; src\/connectors\/sql\/keyset\.ts → src\/connectors\/pg\/quote$/);
  } finally {
    p.cleanup();
  }
});
