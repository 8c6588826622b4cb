// A files destination's tables under `s3://bucket/prefix/<table>/`. S3 has no rename and no transaction: parts are
// uploaded under `<table>/_staging/<run>/…` as they close (a multipart upload streamed from the local part file),
// copied to their final keys at a commit, and the manifest — the commit point — is written after the copies; staging
// is emptied once it lists them. A reader of the manifest sees whole commits only. A reader that lists keys instead
// skips `_staging/` (a leading underscore: Hive, Spark, Trino and Athena skip such names) and sees a crashed commit's
// copies only until the re-run's sweep removes them.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { join } from 'node:path';
import { RunError } from '../../core/errors.js';
import type { S3Store } from '../s3/s3-store.js';
import { joinKey } from '../s3/s3-spec.js';
import { eachLimited } from '../../core/each-limited.js';
import { MANIFEST, type Manifest } from './manifest.js';
import type { LocalPart, StagedPart, TableStore } from './table-store.js';

export const STAGING = '_staging';

/** Reads of a manifest that is not JSON before it is taken for no manifest (readManifest). */
const MANIFEST_READS = 4;

export class S3TableStore implements TableStore {
  constructor(
    private readonly store: S3Store,
    private readonly prefix: string,
    /** Local directory for parts being written. */
    private readonly scratchDir: string,
  ) {}

  private key(table: string, rel: string): string {
    return joinKey(this.prefix, table, rel);
  }

  private stagingKey(table: string, rel: string, runId: string): string {
    return joinKey(this.prefix, table, STAGING, runId, rel);
  }

  where(table: string): string {
    return `s3://${this.store.bucket}/${joinKey(this.prefix, table)}`;
  }

  /** The table directories under the prefix (a delimited listing: the parts inside them are not listed). */
  async tables(): Promise<string[]> {
    const names: string[] = [];
    for await (const name of this.store.dirs(this.prefix ? `${joinKey(this.prefix)}/` : '')) names.push(name);
    return names;
  }

  /**
   * The table's manifest. S3 replaces an object whole, but not every S3-compatible server does: s3rver (the test
   * server, and `npm run s3-server`) writes it in place, and a stream reading every table's manifest for its state
   * read another stream's half-written one (not JSON) in a CI run. Such text is read again a few times before it is
   * called no manifest.
   */
  async readManifest(table: string): Promise<Manifest | undefined> {
    for (let attempt = 1; ; attempt++) {
      const text = await this.store.readText(this.key(table, MANIFEST));
      if (text === undefined) return undefined;
      try {
        return JSON.parse(text) as Manifest;
      } catch {
        if (attempt >= MANIFEST_READS) {
          throw new RunError(`${this.where(table)}/${MANIFEST} is not a manifest (not JSON): remove it, or point the destination elsewhere`);
        }
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  }

  async writeManifest(table: string, manifest: Manifest): Promise<void> {
    // A single PUT replaces an object atomically: a reader gets the old manifest or the new one.
    await this.store.writeText(this.key(table, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  }

  async scratch(): Promise<string> {
    await mkdir(this.scratchDir, { recursive: true });
    return join(this.scratchDir, `part-${randomUUID()}.tmp`);
  }

  async stage(table: string, part: StagedPart, runId: string): Promise<number> {
    const { size } = await stat(part.local);
    await this.store.upload(this.stagingKey(table, part.rel, runId), part.local);
    await rm(part.local, { force: true });
    return size;
  }

  async publish(table: string, parts: readonly StagedPart[], runId: string): Promise<void> {
    await inBatches(parts, (p) => this.store.copy(this.stagingKey(table, p.rel, runId), this.key(table, p.rel)));
  }

  async settle(table: string, parts: readonly StagedPart[], runId: string): Promise<void> {
    await this.store.remove(parts.map((p) => this.stagingKey(table, p.rel, runId)));
  }

  async discard(table: string, part: StagedPart, runId: string): Promise<void> {
    await rm(part.local, { force: true }).catch(() => undefined);
    await this.store.remove([this.stagingKey(table, part.rel, runId)]).catch(() => undefined);
  }

  async remove(table: string, rels: readonly string[]): Promise<void> {
    await this.store.remove(rels.map((r) => this.key(table, r)));
  }

  async list(table: string): Promise<string[]> {
    const base = `${joinKey(this.prefix, table)}/`;
    const out: string[] = [];
    for await (const o of this.store.list(base)) {
      const rel = o.key.slice(base.length);
      if (rel !== MANIFEST) out.push(rel);
    }
    return out;
  }

  async fetch(table: string, rel: string): Promise<LocalPart> {
    await mkdir(this.scratchDir, { recursive: true });
    const path = join(this.scratchDir, `read-${randomUUID()}.tmp`);
    const body = await this.store.read(this.key(table, rel));
    try {
      await pipeline(body!, createWriteStream(path));
    } catch (e) {
      await rm(path, { force: true });
      throw e;
    }
    return { path, release: () => rm(path, { force: true }) };
  }

  close(): void {
    this.store.close();
  }
}

/** Server-side copies eight at a time: one commit may publish a part per partition. */
const inBatches = <T>(items: readonly T[], fn: (item: T) => Promise<void>): Promise<void> => eachLimited(items, 8, fn);
