// One stream's load into a files-destination table. Parts are written to local files, staged as they close, published
// at a commit and then listed in the manifest, the commit point (table-store.ts says how each store does each step):
// a crash before the manifest is written leaves files it does not list, and the next load removes them.
//
//   append   commit = publish this checkpoint's parts + state in the manifest
//   replace  parts stay staged until finish, which swaps the manifest to list only this run's parts (and the
//            state), then deletes the files of the old manifest
//   staged   (an append behind a dataset gate) parts stay staged until finish, which adds them to the manifest: a
//            blocked gate aborts the load and nothing of the run was visible
//
// With `partition_by`, rows are routed to one open part per partition directory (`col=value/…`), the partition columns
// left out of the files; a part also closes once it reaches `target_file_size`. Parts never span a checkpoint.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import type { CommitCounts, IngestCursor, IngestResult, LoadTarget, StreamLoad } from '../../core/connector.js';
import { eachLimited } from '../../core/each-limited.js';
import { RunError } from '../../core/errors.js';
import { type FileHandOff, type Schema, type StreamState, typedColumn } from '../../core/types.js';
import { ingestSelect, type IngestColumn } from '../duckdb/duckdb-ingest.js';
import { moveFile } from './move-file.js';
import { copyToParts } from './parquet-ingest.js';
import { DECIMAL_SCALE, DECIMAL_WIDTH } from '../duckdb/duckdb-type-names.js';
import { limitRefusal } from '../sql/column-limits.js';
import type { Refusal } from '../../core/values/refusals.js';
import type { FileFormat } from './files-spec.js';
import { emptyManifest } from './manifest.js';
import type { Manifest, ManifestFile } from './manifest.js';
import type { PartColumn, PartWriter } from './part-writer.js';
import { partitionSegment, partitionValue } from '../../core/values/partition-path.js';
import { STAGING } from './s3-table-store.js';
import { sweep, type StagedPart, type TableStore } from './table-store.js';

const ZERO: CommitCounts = { inserted: 0, updated: 0, deleted: 0 };

interface Part extends StagedPart {
  columns: PartColumn[];
  partition?: Record<string, string | null>;
  rows: number;
  bytes?: number;
}

interface OpenPart extends Part {
  writer: PartWriter;
}

/** Partition column types whose text DuckDB reports (ingest) exactly as the engine's path writes it. */
const INGEST_PARTITION_TYPES = new Set(['text', 'integer', 'bigint', 'date', 'boolean']);

export interface FilesLoadOptions {
  /** The table's directory name in the store. */
  table: string;
  store: TableStore;
  format: FileFormat;
  /** File name extension of a part (`parquet`, `csv.gz`, …). */
  extension: string;
  targetBytes: number;
  target: LoadTarget;
  newWriter: (path: string, columns: readonly PartColumn[]) => PartWriter;
  /** Parquet parts: DuckDB, to write whole files it reads itself (ingest), and where it writes them. */
  ingest?: { instance: () => Promise<DuckDBInstance>; compression: string; scratchDir: string };
  onDone: () => void;
}

export class FilesStreamLoad implements StreamLoad {
  private columns: PartColumn[] = [];
  /** Positions in `columns` of the partition columns, and of the columns the files hold. */
  private partitionAt: number[] = [];
  private dataAt: number[] = [];
  /** Open parts by partition directory ('' without partitions). */
  private open = new Map<string, OpenPart>();
  /** Staged parts not yet listed in the manifest. */
  private closed: Part[] = [];
  private seq = 0;
  /** Encoded bytes per row of the parts closed so far: how big a Parquet part will be before COPY writes it. */
  private bytesPerRow: number | undefined;
  private done = false;

  constructor(private readonly opts: FilesLoadOptions) {}

  async start(): Promise<void> {
    const { table, store, target } = this.opts;
    if (target.disposition === 'merge') {
      throw new RunError(`stream ${target.stream}: the files destination supports write: append and replace, not merge (it would rewrite every part a key may be in)`, target.stream);
    }
    const manifest = await store.readManifest(table);
    const had = manifest?.partition_by ?? [];
    const wants = target.partitionBy ?? [];
    if (manifest?.files.length && target.disposition !== 'replace' && had.join('\u0000') !== wants.join('\u0000')) {
      const layout = (cols: string[]): string => (cols.length ? `partitioned by [${cols.join(', ')}]` : 'not partitioned');
      throw new RunError(`stream ${target.stream}: ${store.where(table)} is ${layout(had)}, and the stream asks for ${wants.length ? `[${wants.join(', ')}]` : 'no partitions'}: a table has one layout (\`sluice run --full-refresh\` rewrites it)`, target.stream);
    }
    // Whatever the manifest does not list was never committed: a crash left it behind. Another stream of this run
    // loading into the same table keeps its staging.
    await sweep(store, table, manifest, `${STAGING}/${target.runId}/`);
  }

  async evolve(schema: Schema): Promise<void> {
    const next = schema.columns.map((c) => typedColumn(c, c.target ?? c.name));
    const same = next.length === this.columns.length
      && next.every((c, i) => c.name === this.columns[i].name && c.type === this.columns[i].type && c.scale === this.columns[i].scale);
    if (same) return;
    // A part has one schema: rows aligned with the new columns start new parts.
    await this.closeAll();
    const by = this.opts.target.partitionBy ?? [];
    const names = next.map((c) => c.name);
    const missing = by.filter((c) => !names.includes(c));
    if (missing.length) {
      throw new RunError(`stream ${this.opts.target.stream}: partition_by names ${missing.map((c) => `"${c}"`).join(', ')}, which the stream has no column for (columns: ${names.join(', ')})`, this.opts.target.stream);
    }
    this.columns = next;
    this.partitionAt = by.map((c) => names.indexOf(c));
    this.dataAt = next.map((_, i) => i).filter((i) => !this.partitionAt.includes(i));
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
    if (this.partitionAt.length === 0) {
      await this.writeTo('', rows);
      return;
    }
    const groups = new Map<string, { values: (string | null)[]; rows: unknown[][] }>();
    const { columns, partitionAt, dataAt } = this;
    for (const row of rows) {
      const values = partitionAt.map((i) => partitionValue(row[i], columns[i].type));
      let dir = '';
      for (let k = 0; k < partitionAt.length; k++) dir += (k ? '/' : '') + partitionSegment(columns[partitionAt[k]].name, values[k]);
      const data = new Array<unknown>(dataAt.length);
      for (let j = 0; j < dataAt.length; j++) data[j] = row[dataAt[j]];
      const group = groups.get(dir);
      if (group) group.rows.push(data);
      else groups.set(dir, { values, rows: [data] });
    }
    for (const [dir, group] of groups) await this.writeTo(dir, group.rows, group.values);
  }

  /** Parts are published only at finish: a replace swaps the table, a gated load waits for its verdict. */
  private get holds(): boolean {
    return this.opts.target.disposition === 'replace' || !!this.opts.target.staged;
  }

  async commit(state: StreamState): Promise<CommitCounts> {
    await this.closeAll();
    if (this.holds) return ZERO;
    const { store, table } = this.opts;
    const manifest = (await store.readManifest(table)) ?? this.emptyManifest();
    const files = await this.publish();
    manifest.files.push(...files);
    await this.saveManifest(manifest, state);
    await this.settle();
    return { ...ZERO, inserted: files.reduce((n, f) => n + f.rows, 0) };
  }

  async finish(state: StreamState): Promise<CommitCounts> {
    if (!this.holds) {
      const counts = await this.commit(state);
      this.close();
      return counts;
    }
    await this.closeAll();
    const { store, table } = this.opts;
    const old = (await store.readManifest(table)) ?? this.emptyManifest();
    const files = await this.publish();
    const replace = this.opts.target.disposition === 'replace';
    await this.saveManifest(replace ? { ...old, files, partition_by: this.opts.target.partitionBy } : { ...old, files: [...old.files, ...files] }, state);
    await this.settle();
    const keep = new Set(files.map((f) => f.path));
    if (replace) await store.remove(table, old.files.map((f) => f.path).filter((p) => !keep.has(p)));
    this.close();
    return { ...ZERO, inserted: files.reduce((n, f) => n + f.rows, 0) };
  }

  async abort(): Promise<void> {
    if (this.done) return;
    const { store, table, target } = this.opts;
    const open = [...this.open.values()];
    const closed = this.closed;
    this.open.clear();
    this.closed = [];
    for (const p of open) await p.writer.discard();
    for (const p of [...open, ...closed]) await store.discard(table, p, target.runId);
    this.close();
  }

  /** Parquet parts take whole CSV and Parquet files DuckDB reads itself, where no cursor filters their rows. */
  ingests(format: string): boolean {
    return this.opts.ingest !== undefined && (format === 'csv' || format === 'parquet');
  }

  async ingest(file: FileHandOff, schema: Schema, cursor?: IngestCursor): Promise<IngestResult | undefined> {
    const how = this.opts.ingest;
    if (!how || cursor || this.open.size > 0 || !this.ingests(file.format)) return undefined;
    const byName = new Map(schema.columns.map((c) => [c.name, c]));
    const columns: IngestColumn[] = [];
    for (const [at, name] of file.columns.entries()) {
      const column = byName.get(name);
      if (!column) return undefined;
      columns.push({ at, column, target: column.target ?? column.name });
    }
    // The parts must have this load's columns, all of them, each typed as the engine's path types it.
    const targets = new Set(columns.map((c) => c.target));
    if (targets.size !== this.columns.length || this.columns.some((c) => !targets.has(c.name))) return undefined;
    if (this.partitionAt.some((i) => !INGEST_PARTITION_TYPES.has(String(this.columns[i].type)))) return undefined;
    const rows = ingestSelect(file, columns);
    if (!rows) return undefined;
    const { store, table, target } = this.opts;
    const dir = join(how.scratchDir, `ingest-${randomUUID()}`);
    let written;
    try {
      written = await copyToParts(await how.instance(), rows.select, this.dataAt.map((i) => this.columns[i].name),
        this.partitionAt.map((i) => this.columns[i].name), dir, how.compression, this.opts.targetBytes);
    } catch {
      // A value the engine reads otherwise (or any other refusal): the engine reads the file.
      return undefined;
    }
    let loaded = 0;
    try {
      const columnsOfParts = this.dataAt.map((i) => this.columns[i]);
      for (const w of written) {
        if (w.rows === 0) continue;
        const values = w.partition.map((v) => (v === '' ? null : v));
        const segments = this.partitionAt.map((i, k) => partitionSegment(this.columns[i].name, values[k]));
        const rel = this.nextRel(segments.join('/'));
        const local = await store.scratch(table, rel);
        await moveFile(w.file, local);
        const part: Part = { rel, local, columns: columnsOfParts, rows: w.rows };
        if (this.partitionAt.length) part.partition = Object.fromEntries(this.partitionAt.map((i, k) => [this.columns[i].name, values[k]]));
        part.bytes = await store.stage(table, part, target.runId);
        this.learn(part);
        this.closed.push(part);
        loaded += w.rows;
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    return { loaded, filtered: 0 };
  }

  private async writeTo(dir: string, rows: unknown[][], partition?: (string | null)[]): Promise<void> {
    const part = this.open.get(dir) ?? await this.openPart(dir, partition);
    await part.writer.write(rows);
    const bytes = part.writer.bytes ?? (this.bytesPerRow === undefined ? undefined : part.writer.rows * this.bytesPerRow);
    if (bytes !== undefined && bytes >= this.opts.targetBytes) await this.closePart(dir);
  }

  private async openPart(dir: string, partition: (string | null)[] | undefined): Promise<OpenPart> {
    const { store, table } = this.opts;
    const rel = this.nextRel(dir);
    const local = await store.scratch(table, rel);
    const columns = this.dataAt.map((i) => this.columns[i]);
    const part: OpenPart = { rel, local, columns, rows: 0, writer: this.opts.newWriter(local, columns) };
    if (partition) part.partition = Object.fromEntries(this.partitionAt.map((i, k) => [this.columns[i].name, partition[k]]));
    this.open.set(dir, part);
    return part;
  }

  private async closePart(dir: string): Promise<void> {
    const part = this.open.get(dir);
    if (!part) return;
    this.open.delete(dir);
    const { store, table, target } = this.opts;
    if (part.writer.rows === 0) {
      await part.writer.discard();
      return;
    }
    await part.writer.close();
    const { writer: _w, ...closed } = part;
    closed.rows = part.writer.rows;
    closed.bytes = await store.stage(table, closed, target.runId);
    this.learn(closed);
    this.closed.push(closed);
  }

  private nextRel(dir: string): string {
    this.seq += 1;
    const name = `part-${this.opts.target.runId}-${String(this.seq).padStart(5, '0')}.${this.opts.extension}`;
    return dir ? `${dir}/${name}` : name;
  }

  private learn(part: Part): void {
    const perRow = part.bytes! / part.rows;
    this.bytesPerRow = this.bytesPerRow === undefined ? perRow : (this.bytesPerRow + perRow) / 2;
  }

  /** Every open part, four at a time: staging one is mostly waiting (COPY to disk, an upload). */
  private async closeAll(): Promise<void> {
    await eachLimited([...this.open.keys()], 4, (dir) => this.closePart(dir));
  }

  /** Move the staged parts to their final names; they become visible only once the manifest lists them. */
  private async publish(): Promise<ManifestFile[]> {
    const { store, table, target } = this.opts;
    await store.publish(table, this.closed, target.runId);
    const now = new Date().toISOString();
    return this.closed.map((p) => ({
      path: p.rel, rows: p.rows, bytes: p.bytes ?? 0, run_id: target.runId, committed_at: now, columns: p.columns,
      ...(p.partition ? { partition: p.partition } : {}),
    }));
  }

  private async settle(): Promise<void> {
    const { store, table, target } = this.opts;
    const parts = this.closed;
    this.closed = [];
    await store.settle(table, parts, target.runId);
  }

  private emptyManifest(): Manifest {
    const m = emptyManifest(this.opts.target.table, this.opts.format);
    if (this.opts.target.partitionBy?.length) m.partition_by = this.opts.target.partitionBy;
    return m;
  }

  private async saveManifest(manifest: Manifest, state: StreamState): Promise<void> {
    const { target, store, table } = this.opts;
    manifest.run_id = target.runId;
    manifest.updated_at = new Date().toISOString();
    if (this.columns.length) manifest.columns = this.columns;
    manifest.state = { ...manifest.state, [target.pipeline]: { ...manifest.state[target.pipeline], [target.stream]: state } };
    await store.writeManifest(table, manifest);
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    this.opts.onDone();
  }
}
