// The pipeline and sync files `sluice serve` was given (files, or directories of `*.yaml`/`*.yml`), re-read when they
// change. A file is a sync file when it has a top-level `sync:` key, a pipeline file otherwise; pipelines and syncs share
// one namespace (their runs share the ledger). A file that becomes invalid keeps its last good version running and
// reports the error; one that is removed stops being scheduled. Changes are found by polling size and mtime (cheap for thousands of files, and it works on every
// file system, unlike fs.watch), then confirmed by a content hash so a touch is no change.
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { parsePipeline } from '../config/load.js';
import { PROJECT_FILE } from '../config/project-file.js';
import { parseSync, type LoadedSync } from '../config/sync-spec.js';
import type { LoadedPipeline } from '../config/types.js';
import { ConfigError, errorMessage } from '../core/errors.js';

export interface PipelineEntry {
  file: string;
  /** SHA-256 of the file's content as last read. */
  hash: string;
  /** The last valid version: what runs. */
  loaded?: LoadedPipeline;
  /** The same, for a sync file. */
  sync?: LoadedSync;
  /** Why the current content is invalid (the last good version, if any, keeps running). */
  error?: string;
  stamp: string;
}

export type PipelineChange =
  | { kind: 'added' | 'changed'; entry: PipelineEntry }
  | { kind: 'invalid'; entry: PipelineEntry }
  | { kind: 'removed'; entry: PipelineEntry };


export class PipelineSet {
  private readonly entries = new Map<string, PipelineEntry>();
  /** Goes up with every change, so callers can cache what they derive from the set. */
  version = 0;
  /** The maps below as last built, and the version of the set they were built from. */
  private readonly built = new Map<'pipelines' | 'syncs', { version: number; map: Map<string, unknown> }>();

  constructor(private readonly paths: string[], private readonly env: NodeJS.ProcessEnv = process.env) {}

  /** Valid pipelines by name (the last good version of each); the same map until the set changes. */
  pipelines(): ReadonlyMap<string, { entry: PipelineEntry; loaded: LoadedPipeline }> {
    return this.byName('pipelines', (e) => e.loaded && [e.loaded.config.pipeline, e.loaded]);
  }

  /** Valid sync files by sync name (the last good version of each); the same map until the set changes. */
  syncs(): ReadonlyMap<string, { entry: PipelineEntry; loaded: LoadedSync }> {
    return this.byName('syncs', (e) => e.sync && [e.sync.config.sync, e.sync]);
  }

  /** Entries by the name `pick` finds in their last good version. */
  private byName<T>(kind: 'pipelines' | 'syncs', pick: (e: PipelineEntry) => [string, T] | undefined): ReadonlyMap<string, { entry: PipelineEntry; loaded: T }> {
    // Looked up for every run (its policy, its version): rebuilt only when a file changed, not per lookup.
    const last = this.built.get(kind);
    if (last?.version === this.version) return last.map as Map<string, { entry: PipelineEntry; loaded: T }>;
    const map = new Map<string, { entry: PipelineEntry; loaded: T }>();
    for (const entry of this.entries.values()) {
      const found = pick(entry);
      if (found) map.set(found[0], { entry, loaded: found[1] });
    }
    this.built.set(kind, { version: this.version, map });
    return map;
  }

  all(): PipelineEntry[] {
    return [...this.entries.values()];
  }

  /** Reads what changed since the last call; the first call reads everything. Throws ConfigError for a path that does not exist. */
  async refresh(): Promise<PipelineChange[]> {
    const files = await this.listFiles();
    const changes: PipelineChange[] = [];
    for (const file of files) {
      const change = await this.read(file);
      if (change) changes.push(change);
    }
    for (const [file, entry] of this.entries) {
      if (!files.includes(file)) {
        this.entries.delete(file);
        changes.push({ kind: 'removed', entry });
      }
    }
    this.rejectDuplicateNames(changes);
    if (changes.length) this.version++;
    return changes;
  }

  private async listFiles(): Promise<string[]> {
    const files: string[] = [];
    for (const p of this.paths.map((x) => resolve(x))) {
      let s;
      try {
        s = await stat(p);
      } catch {
        throw new ConfigError('no such file or directory', { file: p, expected: 'pipeline files or directories of them' });
      }
      if (!s.isDirectory()) {
        files.push(p);
        continue;
      }
      for (const name of (await readdir(p)).sort()) {
        if (['.yaml', '.yml'].includes(extname(name)) && name !== PROJECT_FILE) files.push(join(p, name));
      }
    }
    return files;
  }

  private async read(file: string): Promise<PipelineChange | undefined> {
    let s;
    try {
      // Synchronous: thousands of small stats cost less this way than as as many promises on the thread pool.
      s = statSync(file);
    } catch {
      return undefined; // removed between listing and reading: the next refresh sees it gone
    }
    const stamp = `${s.size}:${s.mtimeMs}`;
    const known = this.entries.get(file);
    if (known?.stamp === stamp) return undefined;
    const text = await readFile(file, 'utf8');
    const hash = createHash('sha256').update(text).digest('hex');
    if (known?.hash === hash) {
      known.stamp = stamp;
      return undefined;
    }
    // In a directory, a YAML file without a top-level `pipeline:` or `sync:` is something else (notes): not ours.
    const kind = declared(text);
    if (!known && !this.paths.map((p) => resolve(p)).includes(file) && !kind) return undefined;
    const entry: PipelineEntry = { file, hash, stamp, ...(known?.loaded ? { loaded: known.loaded } : {}), ...(known?.sync ? { sync: known.sync } : {}) };
    this.entries.set(file, entry);
    try {
      const opts = { file, baseDir: dirname(file), env: this.env };
      if (kind === 'sync') {
        entry.sync = parseSync(text, opts);
        delete entry.loaded;
      } else {
        entry.loaded = parsePipeline(text, opts);
        delete entry.sync;
      }
      return { kind: known ? 'changed' : 'added', entry };
    } catch (e) {
      entry.error = e instanceof ConfigError ? e.toString() : errorMessage(e);
      return { kind: 'invalid', entry };
    }
  }

  /** Two files naming the same pipeline or sync: the later one (by path) is invalid, so runs and state are never shared by accident. */
  private rejectDuplicateNames(changes: PipelineChange[]): void {
    const seen = new Map<string, string>();
    for (const entry of [...this.entries.values()].sort((a, b) => a.file.localeCompare(b.file))) {
      const name = entry.loaded?.config.pipeline ?? entry.sync?.config.sync;
      if (!name) continue;
      const first = seen.get(name);
      if (first === undefined) {
        seen.set(name, entry.file);
        continue;
      }
      entry.error = `${entry.file}: "${name}" is already defined in ${first}; pipeline and sync names must be unique`;
      delete entry.loaded;
      delete entry.sync;
      changes.push({ kind: 'invalid', entry });
    }
  }
}

/** What a file says it is by its top-level key: a pipeline, a sync, or neither. */
function declared(text: string): 'pipeline' | 'sync' | undefined {
  try {
    const doc = parseYaml(text) as unknown;
    if (doc === null || typeof doc !== 'object') return undefined;
    return 'sync' in doc && !('pipeline' in doc) ? 'sync' : 'pipeline' in doc ? 'pipeline' : undefined;
  } catch {
    return 'pipeline'; // broken YAML is reported as an invalid pipeline, not silently ignored
  }
}
