// `_manifest.json`: the single commit point of a files-destination table. It lists the committed part files and
// holds the state of the streams that load into the table; it is replaced by write-temp-then-rename, so a reader
// sees the old or the new manifest, never a torn one. Files in the directory that it does not list are orphans.
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ColumnType, StreamState } from '../../core/types.js';

export const MANIFEST = '_manifest.json';
export const MANIFEST_VERSION = 1;

export interface ManifestFile {
  /** File name inside the table directory. */
  path: string;
  rows: number;
  bytes: number;
  run_id: string;
  committed_at: string;
  /** Columns of this part (a schema change mid-run starts a new part); partition columns are not in the file. */
  columns: { name: string; type: ColumnType }[];
  /** Partition column → value (null: the default partition), for a table with `partition_by`. */
  partition?: Record<string, string | null>;
}

export interface Manifest {
  manifest_version: number;
  table: string;
  format: string;
  /** Run of the last commit. */
  run_id: string;
  updated_at: string;
  /** Columns of the newest part, or of the last replace when it loaded no rows. */
  columns: { name: string; type: ColumnType }[];
  files: ManifestFile[];
  /** Columns whose values name each part's directory (`col=value/…`), in order. */
  partition_by?: string[];
  /** pipeline → stream → state, committed with the files it describes. */
  state: Record<string, Record<string, StreamState>>;
}

export function emptyManifest(table: string, format: string): Manifest {
  return { manifest_version: MANIFEST_VERSION, table, format, run_id: '', updated_at: '', columns: [], files: [], state: {} };
}

export async function readManifest(dir: string): Promise<Manifest | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  return JSON.parse(text) as Manifest;
}

export async function writeManifest(dir: string, manifest: Manifest): Promise<void> {
  const tmp = join(dir, `.tmp-${MANIFEST}.${process.pid}.${Date.now()}`);
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(`${JSON.stringify(manifest, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, join(dir, MANIFEST));
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDir(dir);
}

/** Make a rename durable: the directory entry is what a crash would otherwise lose. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic there.
  }
}
