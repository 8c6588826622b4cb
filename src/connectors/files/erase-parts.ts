// `sluice erase` on a files-destination table: the parts holding the subject's rows are rewritten without them (or
// with their personal columns blanked) and swapped in by the protocol a load commits by (table-store.ts): each
// rewritten part is written to scratch space and staged, then published under a new name beside the old one, then the
// manifest — the one commit point — lists it instead of the old part, then staging is settled and the old part
// deleted. A crash before the manifest leaves the table as it was plus files it does not list; a crash after leaves
// old parts it no longer lists. Either way the next erase (or load) sweeps what the manifest does not list first, so
// erasing again finishes the job and no part is ever listed twice or lost. Parts are read one at a time (an S3 part
// is downloaded to scratch space, then deleted), twice when the table has a key: once for the keys of the rows
// holding the value, once to cut out every row holding one of them.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { posix } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import type { EraseOptions, ErasedRows, SubjectRows } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { PartEraser, SubjectMatch } from './erase-match.js';
import { ParquetEraser } from './erase-parquet.js';
import { TextEraser } from './erase-text.js';
import type { Manifest, ManifestFile } from './manifest.js';
import { sweep, type StagedPart, type TableStore } from './table-store.js';

export interface ErasePartsContext {
  store: TableStore;
  /** The table's directory name. */
  table: string;
  /** DuckDB, which reads and writes Parquet parts. */
  duckdb: () => Promise<DuckDBInstance>;
  /** Parts gone from the table: copies of them kept elsewhere (`sluice lake`'s cache of S3 parts) go too. */
  forget(rels: readonly string[]): Promise<void>;
}

interface Rewrite {
  old: ManifestFile;
  /** The part without the subject's rows; undefined: none stay, the part goes whole. */
  part?: StagedPart & { rows: number; bytes: number };
}

export async function eraseParts(ctx: ErasePartsContext, subject: SubjectRows, options: EraseOptions): Promise<ErasedRows> {
  const { store, table } = ctx;
  const manifest = await store.readManifest(table);
  if (!manifest) return { rows: 0, keys: [] };
  const dryRun = !!options.dryRun;
  // Old parts an interrupted erase did not get to delete still hold the subject: they go before anything else.
  if (!dryRun) await ctx.forget(await sweep(store, table, manifest));
  const anonymise = options.anonymise?.length ? options.anonymise : undefined;
  const inPath = anonymise?.filter((c) => manifest.partition_by?.includes(c)) ?? [];
  if (inPath.length) {
    throw new RunError(`${store.where(table)}: cannot anonymise ${inPath.join(', ')}, a partition column (its value names the part's directory); erase with \`privacy: { erasure: delete }\``);
  }
  const match: SubjectMatch = { column: subject.column, values: subject.values, key: subject.key, ...(anonymise ? { anonymise } : {}) };
  const eraser: PartEraser = manifest.format === 'parquet'
    ? await ParquetEraser.open(await ctx.duckdb(), manifest, match)
    : new TextEraser(manifest.format === 'csv' ? 'csv' : 'ndjson', match);
  const runId = `erase-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  const rewrites: Rewrite[] = [];
  try {
    if (subject.key.length) for (const f of manifest.files) await withPart(store, table, f, (file) => eraser.collect(file, f));
    const keys = await eraser.keys();
    let rows = 0;
    let seq = 0;
    for (const f of manifest.files) {
      const rel = dryRun ? undefined : partName(f, runId, ++seq);
      const local = rel === undefined ? undefined : await store.scratch(table, rel);
      const erased = await withPart(store, table, f, (file) => eraser.erase(file, f, local));
      rows += erased.matched;
      if (rel === undefined || local === undefined || erased.matched === 0 || erased.kept === 0) {
        // Nothing was written for an untouched part, or one that goes whole; a scratch name may stand empty.
        if (local !== undefined) await rm(local, { force: true });
        if (rel !== undefined && erased.matched > 0) rewrites.push({ old: f });
        continue;
      }
      const part = { rel, local, rows: erased.kept, bytes: 0 };
      rewrites.push({ old: f, part });
      part.bytes = await store.stage(table, part, runId);
    }
    if (rewrites.length) await ctx.forget(await commit(store, table, manifest, rewrites, runId));
    return { rows, keys };
  } catch (e) {
    for (const r of rewrites) if (r.part) await store.discard(table, r.part, runId);
    throw e;
  } finally {
    await eraser.close();
  }
}

/**
 * Publish the rewritten parts, list them in the manifest instead of the old ones, then delete staging and the old
 * parts, whose paths it returns.
 */
async function commit(store: TableStore, table: string, read: Manifest, rewrites: Rewrite[], runId: string): Promise<string[]> {
  const now = await store.readManifest(table);
  if (now?.run_id !== read.run_id || now.updated_at !== read.updated_at || now.files.length !== read.files.length) {
    throw new RunError(`${store.where(table)} changed while its parts were rewritten (a load of another pipeline?): erase again`);
  }
  const parts = rewrites.flatMap((r) => (r.part ? [r.part] : []));
  await store.publish(table, parts, runId);
  const by = new Map(rewrites.map((r) => [r.old.path, r]));
  const committedAt = new Date().toISOString();
  // The table's run and time stay: they say which load's state is the newest (files-destination.ts readState).
  const files = read.files.flatMap((f): ManifestFile[] => {
    const r = by.get(f.path);
    if (!r) return [f];
    return r.part ? [{ ...f, path: r.part.rel, rows: r.part.rows, bytes: r.part.bytes, run_id: runId, committed_at: committedAt }] : [];
  });
  await store.writeManifest(table, { ...read, files });
  await store.settle(table, parts, runId);
  const old = rewrites.map((r) => r.old.path);
  await store.remove(table, old);
  return old;
}

/** The rewritten part's name: a new one in the same directory (readers cache parts by name), same extension. */
function partName(old: ManifestFile, runId: string, seq: number): string {
  const base = posix.basename(old.path);
  const dot = base.indexOf('.');
  const name = `part-${runId}-${String(seq).padStart(5, '0')}${dot >= 0 ? base.slice(dot) : ''}`;
  const dir = posix.dirname(old.path);
  return dir === '.' ? name : `${dir}/${name}`;
}

async function withPart<T>(store: TableStore, table: string, part: ManifestFile, fn: (file: string) => Promise<T>): Promise<T> {
  const local = await store.fetch(table, part.path);
  try {
    return await fn(local.path);
  } finally {
    await local.release();
  }
}
