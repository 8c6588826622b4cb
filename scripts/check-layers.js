// Fails when an import in src/ runs against the layers, or when folders import each other in a cycle. The rules are
// the table under "## Layers" in docs/architecture.md: one row per top-level folder of src/ and the folders it may
// import, so the page and the check cannot disagree. `node scripts/check-layers.js` (run by `npm test`).
//
// - Layers: a file in src/<a>/ may import src/<b>/ only when the row of <a> lists <b>. Every folder of src/ needs a
//   row (a new folder is placed on purpose); a row may name a folder that does not exist yet.
// - Cycles: between any two folders, siblings (connectors/postgres ↔ connectors/sql) or not, except a folder and its
//   own sub-folders: a registry imports its plug-ins, which import the contract beside the registry.
// Imports are read with TypeScript's own pre-processor: static, `export … from`, `import type` and `import()`.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** The rows of the "## Layers" table: folder → folders it may import ("—": none). `index.ts` names src's own files. */
export function parseLayers(markdown) {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Layers'));
  if (!section) throw new Error('docs/architecture.md has no "## Layers" section');
  const rules = new Map();
  for (const line of section.split('\n')) {
    const cells = line.split('|').slice(1, -1).map((c) => c.trim());
    if (cells.length < 2 || !/^`[^`]+`/.test(cells[0])) continue;
    const folder = cells[0].match(/^`([^`/]+)\/?`/)[1];
    const allowed = [...cells[1].matchAll(/`([^`/]+)\/?`/g)].map((m) => m[1]);
    rules.set(folder, new Set(allowed));
  }
  if (rules.size === 0) throw new Error('the "## Layers" table of docs/architecture.md has no rows');
  return rules;
}

function* sourceFiles(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|tsx|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) yield path;
  }
}

/** Every relative import of every file under `src`: { from, to } as paths relative to `src`, `to` without extension. */
export function readImports(src) {
  const edges = [];
  for (const file of sourceFiles(src)) {
    for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = resolve(dirname(file), fileName).replace(/\.(js|ts|mjs)$/, '');
      edges.push({ from: rel(src, file), to: rel(src, target) });
    }
  }
  return edges;
}

const rel = (root, path) => relative(root, path).split(sep).join('/');
const top = (path) => (path.includes('/') ? path.slice(0, path.indexOf('/')) : 'index.ts');
const folderOf = (path) => (path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '');
const within = (inner, outer) => outer === '' || inner === outer || inner.startsWith(`${outer}/`);

/** Problems, one line each: imports against the layers, folders without a row, and folder cycles. */
export function checkLayers(edges, rules, folders) {
  const problems = [];
  for (const f of folders) if (!rules.has(f)) problems.push(`src/${f}/ has no row in the Layers table of docs/architecture.md`);
  for (const { from, to } of edges) {
    const a = top(from);
    const b = top(to);
    if (a === b || to.startsWith('..')) continue;
    const allowed = rules.get(a);
    if (allowed && !allowed.has(b)) {
      problems.push(`src/${from} imports src/${to}: ${a} may import ${[...allowed].join(', ') || 'nothing of src'} (docs/architecture.md, Layers)`);
    }
  }
  // Folder graph without edges between a folder and its own ancestors or descendants.
  const graph = new Map();
  const example = new Map();
  for (const { from, to } of edges) {
    const a = folderOf(from);
    const b = folderOf(to);
    if (within(a, b) || within(b, a)) continue;
    if (!graph.has(a)) graph.set(a, new Set());
    graph.get(a).add(b);
    if (!example.has(`${a}>${b}`)) example.set(`${a}>${b}`, `src/${from} → src/${to}`);
  }
  for (const cycle of cycles(graph)) {
    const steps = cycle.map((f, i) => example.get(`${f}>${cycle[(i + 1) % cycle.length]}`));
    problems.push(`import cycle between folders ${[...cycle, cycle[0]].map((f) => `src/${f}`).join(' → ')}: ${steps.join('; ')}`);
  }
  return problems;
}

/** One cycle per strongly connected component of more than one folder (Tarjan), as the folders in order. */
function cycles(graph) {
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const found = [];
  let next = 0;
  const visit = (v) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
    }
    if (low.get(v) !== index.get(v)) return;
    const component = new Set();
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.add(w);
    } while (w !== v);
    if (component.size > 1) found.push(pathWithin(graph, component, v));
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** A shortest cycle through `start` inside one component (breadth-first), for a message a person can follow. */
function pathWithin(graph, component, start) {
  const prev = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length) {
    const v = queue.shift();
    for (const w of [...(graph.get(v) ?? [])].sort()) {
      if (!component.has(w)) continue;
      if (w === start) {
        const path = [];
        for (let u = v; u !== undefined; u = prev.get(u)) path.unshift(u);
        return path;
      }
      if (!prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start];
}

/** Check a project: its src/ against its docs/architecture.md. */
export function checkProject(root) {
  const src = join(root, 'src');
  const rules = parseLayers(readFileSync(join(root, 'docs', 'architecture.md'), 'utf8'));
  // src's own files (index.ts, the library entry) count as one more folder, named after it.
  const folders = readdirSync(src).map((n) => (statSync(join(src, n)).isDirectory() ? n : 'index.ts'));
  return checkLayers(readImports(src), rules, [...new Set(folders)]);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const problems = checkProject(root);
  if (problems.length) {
    process.stderr.write(`${problems.join('\n')}\n${problems.length} layer problem(s)\n`);
    process.exit(1);
  }
  process.stdout.write('layers hold\n');
}
