// What the `sluice erase` tests share: the data subject (Ada, who changed her email), the way their sources are written,
// and the search for a value left in plain text on disk.
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

export const ADA = 'ada@example.com';
export const ADA_OLD = 'ada@old.example';

/** Rows as an NDJSON file's text. */
export const ndjson = (rows: object[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Files under `dir` holding `value` in plain text (a gzip file opened first); with `names`, paths naming it too. */
export function plainText(dir: string, value: string, names = false): string[] {
  const hits: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (names && name.includes(value)) hits.push(p);
    if (statSync(p).isDirectory()) {
      hits.push(...plainText(p, value, names));
      continue;
    }
    let bytes = readFileSync(p);
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    if (bytes.includes(Buffer.from(value))) hits.push(p);
  }
  return hits;
}

/** A new project directory `root/<name>`: its pipeline file, written from `yaml`, and its $SLUICE_HOME. */
export function projectDir(root: string, name: string, yaml: string): { dir: string; home: string; file: string } {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'pipeline.yaml');
  writeFileSync(file, yaml);
  return { dir, home: join(dir, '.sluice'), file };
}

/** Three visits, two of them Ada's, each with the fields of `more` at its index. */
export const visitsWith = (more: [object, object, object]): object[] =>
  [{ visit_id: 10, email: ADA }, { visit_id: 11, email: ADA }, { visit_id: 12, email: 'bob@example.com' }].map((v, i) => ({ ...v, ...more[i] }));
