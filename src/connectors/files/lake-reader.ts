// What a files destination committed, for DuckDB to query: each table's manifest-listed parts (never a file a crash
// left behind), as local paths — an S3 table's parts are fetched into a cache under the home directory first, because
// DuckDB's own S3 reader (httpfs) is an extension it downloads, which an offline machine cannot. Parts are never
// rewritten under the same name, so a cached part is reused as long as its size matches.
import { createWriteStream } from 'node:fs';
import { mkdir, rename, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { quoteIdent, sqlString } from '../sql/quote.js';
import { isS3Url, joinKey, parseS3Url } from '../s3/s3-spec.js';
import type { S3Store } from '../s3/s3-store.js';
import type { FilesConfig } from './files-spec.js';
import { type Manifest } from './manifest.js';
import { LocalTableStore, type TableStore } from './table-store.js';

export interface LakeTable {
  /** Directory name of the table. */
  dir: string;
  manifest: Manifest;
  /** Local paths of its committed parts, in manifest order. */
  files: string[];
}

export class LakeReader {
  private constructor(
    private readonly store: TableStore,
    private readonly fetch: (table: string, rel: string, bytes: number) => Promise<string>,
    private readonly closeStore: () => void,
  ) {}

  static async open(config: Partial<FilesConfig>, baseDir: string, home: string): Promise<LakeReader> {
    const path = config.path;
    if (path && isS3Url(path)) {
      const { bucket, key } = parseS3Url(path);
      const [{ S3Store }, { S3TableStore }] = await Promise.all([import('../s3/s3-store.js'), import('./s3-table-store.js')]);
      const s3 = await S3Store.open(bucket, config.s3);
      await s3.check();
      return new LakeReader(new S3TableStore(s3, key, join(home, 'tmp', 'parts')),
        (table, rel, bytes) => fetchPart(s3, joinKey(key, table, rel), lakeCachePath(home, bucket, key, table, rel), bytes), () => s3.close());
    }
    const root = path ? resolve(baseDir, path) : join(home, 'files');
    return new LakeReader(new LocalTableStore(root), async (table, rel) => join(root, table, rel), () => undefined);
  }

  /** Each table's manifest, by directory name. */
  async manifests(): Promise<{ dir: string; manifest: Manifest }[]> {
    const out: { dir: string; manifest: Manifest }[] = [];
    for (const dir of (await this.store.tables()).sort()) {
      const manifest = await this.store.readManifest(dir);
      if (manifest) out.push({ dir, manifest });
    }
    return out;
  }

  /** Each table with its committed parts at hand on local disk. */
  async tables(): Promise<LakeTable[]> {
    const out: LakeTable[] = [];
    for (const { dir, manifest } of await this.manifests()) {
      const files: string[] = [];
      for (const f of manifest.files) files.push(await this.fetch(dir, f.path, f.bytes));
      out.push({ dir, manifest, files });
    }
    return out;
  }

  close(): void {
    this.closeStore();
  }
}

/** Where `sluice lake` keeps its copy of an S3 part (an erase deletes the copies of the parts it replaced). */
export const lakeCachePath = (home: string, bucket: string, prefix: string, table: string, rel: string): string =>
  join(home, 'lake-cache', bucket, joinKey(prefix, table, rel));

async function fetchPart(s3: S3Store, key: string, local: string, bytes: number): Promise<string> {
  const have = await stat(local).catch(() => undefined);
  if (have?.size === bytes) return local;
  await mkdir(dirname(local), { recursive: true });
  const tmp = `${local}.download`;
  await pipeline((await s3.read(key))!, createWriteStream(tmp));
  await rename(tmp, local);
  return local;
}

/**
 * A DuckDB view over a table's committed parts: partition columns come back from the directory names with the types
 * the manifest recorded, and parts written before a schema change are read by name.
 */
export function lakeViewSql(table: LakeTable, name = table.manifest.table): string {
  const { manifest, files } = table;
  const view = quoteIdent(name);
  if (files.length === 0) {
    const cols = manifest.columns.map((c) => `NULL AS ${quoteIdent(c.name)}`).join(', ');
    return `CREATE OR REPLACE VIEW ${view} AS SELECT ${cols || 'NULL AS "empty"'} WHERE false`;
  }
  const list = `[${files.map(sqlString).join(', ')}]`;
  const format = manifest.format;
  const partitioned = (manifest.partition_by?.length ?? 0) > 0;
  const hive = partitioned
    ? `, hive_partitioning = true, hive_types = {${manifest.partition_by!.map((c) => `${sqlString(c)}: ${hiveType(manifest, c)}`).join(', ')}}`
    : '';
  const reader = format === 'parquet' ? `read_parquet(${list}, union_by_name = true${hive})`
    : format === 'csv' ? `read_csv(${list}, header = true, union_by_name = true${hive})`
      : `read_json(${list}, format = 'newline_delimited', union_by_name = true${hive})`;
  return `CREATE OR REPLACE VIEW ${view} AS SELECT * FROM ${reader}`;
}

const HIVE_TYPES: Record<string, string> = {
  integer: 'INTEGER', bigint: 'BIGINT', double: 'DOUBLE', date: 'DATE', boolean: 'BOOLEAN', timestamp: 'TIMESTAMPTZ', decimal: 'DOUBLE',
};
/** A partition column's DuckDB type, from the manifest's record of the table's columns. */
export const hiveType = (m: Manifest, column: string): string => {
  const type = m.columns.find((c) => c.name === column)?.type;
  return typeof type === 'string' ? HIVE_TYPES[type] ?? 'VARCHAR' : 'VARCHAR';
};
