// One stream's load into a files-destination table directory. Parts are written under `.tmp-…` names; a commit
// renames them into place and then rewrites the manifest, which is the commit point: a crash between the two
// leaves files the manifest does not list, and the next load deletes them.
//
//   append   commit = publish this checkpoint's parts + state in the manifest
//   replace  parts stay temporary until finish, which swaps the manifest to list only this run's parts (and the
//            state), then deletes the files of the old manifest
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommitCounts, LoadTarget, StreamLoad } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import { type Schema, type StreamState, typedColumn } from '../../core/types.js';
import { DECIMAL_SCALE, DECIMAL_WIDTH } from '../duckdb/duckdb-type-names.js';
import { limitRefusal } from '../sql/column-limits.js';
import type { FileFormat } from './files-spec.js';
import { MANIFEST, emptyManifest, readManifest, syncDir, writeManifest } from './manifest.js';
import type { Manifest, ManifestFile } from './manifest.js';
import type { PartColumn, PartWriter } from './part-writer.js';
import type { Refusal } from '../../core/values/refusals.js';

const ZERO: CommitCounts = { inserted: 0, updated: 0, deleted: 0 };

interface Part {
  writer: PartWriter;
  tmp: string;
  name: string;
  columns: PartColumn[];
}

export interface FilesLoadOptions {
  dir: string;
  format: FileFormat;
  target: LoadTarget;
  newWriter: (path: string, columns: readonly PartColumn[]) => PartWriter;
  onDone: () => void;
}

export class FilesStreamLoad implements StreamLoad {
  private columns: PartColumn[] = [];
  private current: Part | undefined;
  /** Closed parts not yet listed in the manifest. */
  private closed: Part[] = [];
  private seq = 0;
  private done = false;

  constructor(private readonly opts: FilesLoadOptions) {}

  async start(): Promise<void> {
    const { dir, target } = this.opts;
    if (target.disposition === 'merge') {
      throw new RunError(`stream ${target.stream}: the files destination supports write: append and replace, not merge`, target.stream);
    }
    await mkdir(dir, { recursive: true });
    const manifest = await readManifest(dir);
    const listed = new Set(manifest?.files.map((f) => f.path));
    // Whatever the manifest does not list was never committed: a crash left it behind.
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isFile() && entry.name !== MANIFEST && !listed.has(entry.name)) await rm(join(dir, entry.name), { force: true });
    }
  }

  async evolve(schema: Schema): Promise<void> {
    const next = schema.columns.map((c) => typedColumn(c, c.target ?? c.name));
    const same = next.length === this.columns.length
      && next.every((c, i) => c.name === this.columns[i].name && c.type === this.columns[i].type && c.scale === this.columns[i].scale);
    if (!same && this.current) {
      // A part has one schema: rows aligned with the new columns start a new one.
      if (this.current.writer.rows > 0) await this.closePart();
      else await this.current.writer.discard();
      this.current = undefined;
    }
    this.columns = next;
  }

  /** Parquet parts hold a decimal as DECIMAL(p,s): a declared one, or DuckDB's DECIMAL(38,9); text formats keep every digit. */
  refuses(column: string): Refusal | undefined {
    const c = this.opts.format === 'parquet' ? this.columns.find((x) => x.name === column) : undefined;
    if (c?.type !== 'decimal') return undefined;
    return limitRefusal(`Parquet's DECIMAL(${c.precision ?? DECIMAL_WIDTH},${c.scale ?? DECIMAL_SCALE})`,
      { decimal: { precision: c.precision ?? DECIMAL_WIDTH, scale: c.scale ?? DECIMAL_SCALE } });
  }

  async write(rows: unknown[][]): Promise<void> {
    if (rows.length === 0) return;
    if (!this.current) this.current = this.openPart();
    await this.current.writer.write(rows);
  }

  async commit(state: StreamState): Promise<CommitCounts> {
    await this.closePart();
    if (this.opts.target.disposition === 'replace') return ZERO;
    const manifest = (await readManifest(this.opts.dir)) ?? emptyManifest(this.opts.target.table, this.opts.format);
    const files = await this.publish();
    manifest.files.push(...files);
    await this.saveManifest(manifest, state);
    this.closed = [];
    return { ...ZERO, inserted: files.reduce((n, f) => n + f.rows, 0) };
  }

  async finish(state: StreamState): Promise<CommitCounts> {
    if (this.opts.target.disposition !== 'replace') {
      const counts = await this.commit(state);
      this.close();
      return counts;
    }
    await this.closePart();
    const { dir } = this.opts;
    const old = (await readManifest(dir)) ?? emptyManifest(this.opts.target.table, this.opts.format);
    const files = await this.publish();
    const next: Manifest = { ...old, files };
    await this.saveManifest(next, state);
    this.closed = [];
    const keep = new Set(files.map((f) => f.path));
    for (const f of old.files) if (!keep.has(f.path)) await rm(join(dir, f.path), { force: true });
    this.close();
    return { ...ZERO, inserted: files.reduce((n, f) => n + f.rows, 0) };
  }

  async abort(): Promise<void> {
    if (this.done) return;
    const parts = [...this.closed, ...(this.current ? [this.current] : [])];
    this.current = undefined;
    this.closed = [];
    for (const p of parts) {
      await p.writer.discard();
      await rm(join(this.opts.dir, p.name), { force: true }).catch(() => undefined);
    }
    this.close();
  }

  private openPart(): Part {
    const { dir, format, target } = this.opts;
    this.seq += 1;
    const name = `part-${target.runId}-${String(this.seq).padStart(5, '0')}.${format}`;
    // The `.tmp` suffix as well as the prefix: a reader globbing `*.parquet` must not pick up a half-written part.
    const tmp = join(dir, `.tmp-${name}.tmp`);
    return { writer: this.opts.newWriter(tmp, this.columns), tmp, name, columns: this.columns };
  }

  private async closePart(): Promise<void> {
    const part = this.current;
    if (!part) return;
    this.current = undefined;
    await part.writer.close();
    this.closed.push(part);
  }

  /** Rename the closed parts into place; they become visible only once the manifest lists them. */
  private async publish(): Promise<ManifestFile[]> {
    const now = new Date().toISOString();
    const files: ManifestFile[] = [];
    for (const p of this.closed) {
      const final = join(this.opts.dir, p.name);
      await rename(p.tmp, final);
      files.push({
        path: p.name, rows: p.writer.rows, bytes: (await stat(final)).size, run_id: this.opts.target.runId,
        committed_at: now, columns: p.columns,
      });
    }
    if (files.length) await syncDir(this.opts.dir);
    return files;
  }

  private async saveManifest(manifest: Manifest, state: StreamState): Promise<void> {
    const { target } = this.opts;
    manifest.run_id = target.runId;
    manifest.updated_at = new Date().toISOString();
    if (this.columns.length) manifest.columns = this.columns;
    manifest.state = { ...manifest.state, [target.pipeline]: { ...manifest.state[target.pipeline], [target.stream]: state } };
    await writeManifest(this.opts.dir, manifest);
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    this.opts.onDone();
  }
}
