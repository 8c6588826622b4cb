// Files destination: `<path>/<table>/part-<runId>-<seq>.<ext>` plus `<path>/<table>/_manifest.json`, the commit
// point that lists the committed parts and holds the stream state. Not transactional across files, but a reader
// that goes through the manifest never sees a part that was not committed.
import { mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import type {
  Destination, DestinationCapabilities, LoadTarget, RunContext, StreamLoad,
} from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { StreamState } from '../../core/types.js';
import { csvPartWriter } from './csv-writer.js';
import { FilesStreamLoad } from './files-load.js';
import { filesCapabilities } from './files-spec.js';
import type { FileFormat, FilesConfig } from './files-spec.js';
import { readManifest, writeManifest } from './manifest.js';
import { ndjsonPartWriter } from './ndjson-writer.js';
import type { PartColumn, PartWriter } from './part-writer.js';
import { OpenLoads } from '../open-loads.js';


/** A table name as a directory name: path separators, NUL, `%` and a leading dot are %-escaped, reversibly. */
export function tableDirName(table: string): string {
  if (table === '') throw new RunError('empty table name');
  const escaped = table.replace(/[%/\\\0]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`);
  return escaped.startsWith('.') ? `%2E${escaped.slice(1)}` : escaped;
}

export class FilesDestination implements Destination {
  readonly type = 'files';
  readonly capabilities: DestinationCapabilities;
  private readonly format: FileFormat;
  private root: string | undefined;
  private duck: Promise<DuckDBInstance> | undefined;
  private readonly loads = new OpenLoads<FilesStreamLoad>();

  constructor(private readonly config: Partial<FilesConfig> = {}) {
    this.format = config.format ?? 'parquet';
    this.capabilities = filesCapabilities(this.format);
  }

  async connect(ctx: RunContext): Promise<void> {
    this.root = this.config.path ? resolve(ctx.baseDir, this.config.path) : join(ctx.home, 'files');
    await mkdir(this.root, { recursive: true });
  }

  /** The state committed in a manifest; when a stream moved tables, the newest manifest wins. */
  async readState(pipeline: string, stream: string): Promise<StreamState | undefined> {
    let best: { at: string; state: StreamState } | undefined;
    for (const dir of await this.tableDirs()) {
      const m = await readManifest(dir);
      const state = m?.state[pipeline]?.[stream];
      if (m && state && (!best || m.updated_at > best.at)) best = { at: m.updated_at, state };
    }
    return best?.state;
  }

  async resetState(pipeline: string, stream?: string): Promise<void> {
    for (const dir of await this.tableDirs()) {
      const m = await readManifest(dir);
      if (!m?.state[pipeline]) continue;
      if (stream === undefined) {
        delete m.state[pipeline];
      } else {
        if (!(stream in m.state[pipeline])) continue;
        delete m.state[pipeline][stream];
      }
      await writeManifest(dir, m);
    }
  }

  async begin(target: LoadTarget): Promise<StreamLoad> {
    const dir = join(this.requireRoot(), tableDirName(target.table));
    const instance = this.format === 'parquet' ? await this.duckdb() : undefined;
    // Parquet is written through DuckDB, loaded only when a destination writes Parquet.
    const { ParquetPartWriter } = this.format === 'parquet' ? await import('./parquet-writer.js') : { ParquetPartWriter: undefined };
    const newWriter = (path: string, columns: readonly PartColumn[]): PartWriter =>
      this.format === 'csv' ? csvPartWriter(path, columns)
        : this.format === 'ndjson' ? ndjsonPartWriter(path, columns)
          : new ParquetPartWriter!(instance!, path, columns);
    return this.loads.begin((onDone) => new FilesStreamLoad({ dir, format: this.format, target, newWriter, onDone }));
  }

  async close(): Promise<void> {
    await this.loads.abortAll();
    const duck = this.duck;
    this.duck = undefined;
    if (duck) (await duck).closeSync();
  }

  /** One in-memory DuckDB for every Parquet part of this destination, opened on first use. */
  private duckdb(): Promise<DuckDBInstance> {
    this.duck ??= import('@duckdb/node-api').then(({ DuckDBInstance }) => DuckDBInstance.create(':memory:'));
    return this.duck;
  }

  private async tableDirs(): Promise<string[]> {
    const root = this.requireRoot();
    const entries = await readdir(root, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory()).map((e) => join(root, e.name));
  }

  private requireRoot(): string {
    if (!this.root) throw new RunError('the files destination is not connected');
    return this.root;
  }
}
