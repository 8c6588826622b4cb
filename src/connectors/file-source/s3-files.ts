// The objects an `s3://bucket/glob` path names: the bucket is listed under the glob's fixed prefix (one listing, not
// the whole bucket) and the keys are filtered with the glob, with the same rules as local globs (`*` stops at `/`,
// `**` crosses it, dot-names are left out). Each object is a FileEntry keyed by its URL and identified by size and
// ETag. Also the download of an object to a temporary file, for readers that need a local file (Parquet, via DuckDB).
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { randomUUID } from 'node:crypto';
import picomatch from 'picomatch';
import { isDynamicPattern } from 'tinyglobby';
import { RunError, errorMessage } from '../../core/errors.js';
import { parseS3Url, s3Url, type S3Options } from '../s3/s3-spec.js';
import { S3Store } from '../s3/s3-store.js';
import { sortByKey, type FileEntry, type FileSet } from './files.js';

/** A store's RunError (which says what to change) with the stream it failed for. */
export function forStream(e: unknown, stream: string): unknown {
  if (!(e instanceof RunError) || e.stream !== undefined) return e;
  return new RunError(`stream "${stream}": ${e.message}`, stream, { cause: e.cause ?? e });
}

export async function listObjects(url: string, stream: string, options: S3Options | undefined): Promise<FileSet> {
  const { bucket, key: pattern } = parseS3Url(url);
  const store = await S3Store.open(bucket, options);
  try {
    const glob = isDynamicPattern(pattern);
    const base = glob ? picomatch.scan(pattern).base : pattern;
    const prefix = glob && base !== '' ? `${base}/` : base;
    const matches = glob ? picomatch(pattern, { dot: false }) : (key: string) => key === pattern;
    const entries: FileEntry[] = [];
    for await (const o of store.list(prefix)) {
      // A key ending in `/` is a folder marker some tools create, not a file.
      if (o.key.endsWith('/') || !matches(o.key)) continue;
      const rel = s3Url({ bucket, key: o.key });
      entries.push({ rel, abs: rel, size: o.size, mtimeMs: o.lastModified, etag: o.etag, object: { store, key: o.key } });
    }
    if (entries.length === 0) {
      throw new RunError(`stream "${stream}": no object matches "${url}" (listed s3://${bucket}/${prefix})`, stream);
    }
    return { entries: sortByKey(entries), close: () => store.close() };
  } catch (e) {
    store.close();
    throw forStream(e, stream);
  }
}

/** A local file standing for an object, deleted by `remove`. */
export interface LocalCopy {
  path: string;
  remove(): Promise<void>;
}

/** A new temporary file's name under `dir` for an object: unique, so runs side by side never share one. */
export async function tempFileFor(dir: string, key: string): Promise<LocalCopy> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${randomUUID()}-${key.split('/').pop() ?? 'object'}`);
  return { path, remove: () => rm(path, { force: true }) };
}

/** The object copied to a new file under `dir` (streamed: bounded memory whatever its size). */
export async function downloadObject(entry: FileEntry, dir: string, stream: string, signal: AbortSignal): Promise<LocalCopy> {
  const { store, key } = entry.object!;
  const { path, remove } = await tempFileFor(dir, key);
  try {
    const body = await store.read(key, { signal });
    await pipeline(body!, createWriteStream(path), { signal });
  } catch (e) {
    await remove();
    if (signal.aborted) throw e;
    if (e instanceof RunError) throw forStream(e, stream);
    throw new RunError(`stream "${stream}": cannot download ${entry.rel}: ${errorMessage(e)}`, stream, { cause: e });
  }
  return { path, remove };
}
