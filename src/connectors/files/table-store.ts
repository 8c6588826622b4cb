// Where a files destination keeps its tables: a directory on local disk, or a prefix of an S3-compatible bucket. The
// load writes every part to a local file first (DuckDB writes Parquet there; text parts are streamed to it), then the
// store takes it through three steps that keep a reader of the manifest from ever seeing a part twice or half:
//
//   stage    the part is closed: kept under a temporary name (local: `.tmp-…` beside its final place; S3: uploaded
//            under `<table>/_staging/<run>/…`, the local file deleted, so local disk holds one part at a time)
//   publish  at a commit, before the manifest: each staged part is moved to its final name (rename; S3: copy)
//   settle   after the manifest lists them: what staging left is removed (S3)
//
// Anything under a table that its manifest does not list was never committed: the next load removes it (sweep).
import { mkdir, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { type Manifest, MANIFEST, readManifest, syncDir, writeManifest } from './manifest.js';

export interface StagedPart {
  /** Final path inside the table, with forward slashes (`event_date=2026-12-01/part-….parquet`). */
  rel: string;
  /** The local file the writer fills. */
  local: string;
}

export interface TableStore {
  /** Where a message should say the table lives (a directory, an s3:// URL). */
  where(table: string): string;
  /** Table directories (names as on disk / in the bucket); a directory without a manifest reads as undefined. */
  tables(): Promise<string[]>;
  readManifest(table: string): Promise<Manifest | undefined>;
  writeManifest(table: string, manifest: Manifest): Promise<void>;
  /** A local file for a new part whose final path is `rel`. */
  scratch(table: string, rel: string): Promise<string>;
  /** The part is closed and complete; returns its size in bytes. */
  stage(table: string, part: StagedPart, runId: string): Promise<number>;
  publish(table: string, parts: readonly StagedPart[], runId: string): Promise<void>;
  settle(table: string, parts: readonly StagedPart[], runId: string): Promise<void>;
  /** Give a part up, wherever it is. Never throws. */
  discard(table: string, part: StagedPart, runId: string): Promise<void>;
  /** Delete files of the table by their paths inside it. */
  remove(table: string, rels: readonly string[]): Promise<void>;
  /** Every file under the table except its manifest, as paths inside it. */
  list(table: string): Promise<string[]>;
  /** A committed part as a local file to read (S3: downloaded to scratch space); `release` when done with it. */
  fetch(table: string, rel: string): Promise<LocalPart>;
  close(): void;
}

export interface LocalPart {
  path: string;
  release(): Promise<void>;
}

/**
 * Remove what the manifest does not list: parts of a load or an erase that crashed before its manifest, or old parts
 * it replaced and did not get to delete. `keep` is a prefix left alone (a running load's own staging).
 */
export async function sweep(store: TableStore, table: string, manifest: Manifest | undefined, keep?: string): Promise<string[]> {
  const listed = new Set(manifest?.files.map((f) => f.path));
  const orphans = (await store.list(table)).filter((rel) => !listed.has(rel) && !(keep && rel.startsWith(keep)));
  await store.remove(table, orphans);
  return orphans;
}

const tmpName = (rel: string): string => posix.join(posix.dirname(rel), `.tmp-${posix.basename(rel)}.tmp`);

export class LocalTableStore implements TableStore {
  constructor(private readonly root: string) {}

  where(table: string): string {
    return join(this.root, table);
  }

  async tables(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => e.name);
  }

  readManifest(table: string): Promise<Manifest | undefined> {
    return readManifest(join(this.root, table));
  }

  async writeManifest(table: string, manifest: Manifest): Promise<void> {
    await mkdir(join(this.root, table), { recursive: true });
    await writeManifest(join(this.root, table), manifest);
  }

  async scratch(table: string, rel: string): Promise<string> {
    // Beside its final place (same file system: the publish is an atomic rename); the `.tmp` suffix as well as the
    // prefix, so a reader globbing `*.parquet` never picks up a half-written part.
    const local = join(this.root, table, tmpName(rel));
    await mkdir(dirname(local), { recursive: true });
    return local;
  }

  async stage(_table: string, part: StagedPart): Promise<number> {
    return (await stat(part.local)).size;
  }

  async publish(table: string, parts: readonly StagedPart[]): Promise<void> {
    const dirs = new Set<string>();
    for (const p of parts) {
      const final = join(this.root, table, p.rel);
      await rename(p.local, final);
      dirs.add(dirname(final));
    }
    // A rename is durable once its directory is: a manifest must never list a part a crash could lose.
    for (const d of dirs) await syncDir(d);
  }

  async settle(): Promise<void> {
    // Nothing is left behind by a rename.
  }

  async discard(_table: string, part: StagedPart): Promise<void> {
    await rm(part.local, { force: true }).catch(() => undefined);
  }

  async remove(table: string, rels: readonly string[]): Promise<void> {
    const dirs = new Set<string>();
    for (const rel of rels) {
      await rm(join(this.root, table, rel), { force: true });
      for (let d = posix.dirname(rel); d !== '.'; d = posix.dirname(d)) dirs.add(d);
    }
    // A partition directory left empty goes too: its name is a value (an erased subject's email, say).
    for (const d of [...dirs].sort((a, b) => b.length - a.length)) await rmdir(join(this.root, table, d)).catch(() => undefined);
  }

  async list(table: string): Promise<string[]> {
    const dir = join(this.root, table);
    const out: string[] = [];
    const walk = async (sub: string): Promise<void> => {
      const entries = await readdir(join(dir, sub), { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return [];
        throw e;
      });
      for (const e of entries) {
        const rel = sub ? `${sub}/${e.name}` : e.name;
        if (e.isDirectory()) await walk(rel);
        else if (rel !== MANIFEST) out.push(rel);
      }
    };
    await walk('');
    return out;
  }

  async fetch(table: string, rel: string): Promise<LocalPart> {
    return { path: join(this.root, table, rel), release: async () => undefined };
  }

  close(): void {}
}
