// Which files a stream reads, and where each one resumes, from the per-file progress kept in state. A path is local
// (relative to the pipeline file) or `s3://bucket/glob` (s3-files.ts): either way a file is an entry keyed in state.
import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { glob, isDynamicPattern } from 'tinyglobby';
import { RunError, errorMessage } from '../../core/errors.js';
import type { SourceSlice } from '../../core/connector.js';
import type { FileProgress, StreamState } from '../../core/types.js';
import type { Logger } from '../../core/logger.js';
import { isS3Url, type S3Options } from '../s3/s3-spec.js';
import type { S3Store } from '../s3/s3-store.js';
import { listObjects } from './s3-files.js';

export interface FileEntry {
  /**
   * The key in `StreamState.files` and in DLQ positions: the path relative to the pipeline's directory, with forward
   * slashes, or the object's `s3://bucket/key` URL.
   */
  rel: string;
  /** The local path, or the object's URL. */
  abs: string;
  size: number;
  mtimeMs: number;
  /** An object's ETag: with the size, what says an object changed. */
  etag?: string;
  /** An object of a bucket: its bytes come from the store. */
  object?: { store: S3Store; key: string };
}

/** The files of a stream, and the stores opened to list them (closed once the stream is read). */
export interface FileSet {
  entries: FileEntry[];
  close(): void;
}

const toKey = (baseDir: string, abs: string): string => relative(baseDir, abs).split(sep).join('/');

/** The files or objects a path or glob names, sorted by key; throws RunError when there are none. */
export async function listFiles(pattern: string, baseDir: string, stream: string, s3: S3Options | undefined): Promise<FileSet> {
  if (isS3Url(pattern)) return listObjects(pattern, stream, s3);
  return { entries: await expandFiles(pattern, baseDir, stream), close: () => undefined };
}

/** The local files a path or glob names, sorted by key; throws RunError when there are none. */
export async function expandFiles(pattern: string, baseDir: string, stream: string): Promise<FileEntry[]> {
  const absPattern = resolve(baseDir, pattern);
  let paths: string[];
  // A plain path is taken literally, so names with glob characters (brackets, braces) still work.
  if (!isDynamicPattern(pattern)) {
    const st = await stat(absPattern).catch(() => undefined);
    paths = st?.isFile() ? [absPattern] : [];
  } else {
    const relPattern = isAbsolute(pattern) ? toKey(baseDir, pattern) : pattern;
    paths = await glob(relPattern, { cwd: baseDir, absolute: true, onlyFiles: true, dot: false });
  }
  if (paths.length === 0) {
    throw new RunError(`stream "${stream}": no file matches "${pattern}" in ${baseDir}`, stream);
  }
  const entries = await Promise.all(paths.map(async (abs) => {
    const st = await stat(abs).catch((e: unknown) => {
      throw new RunError(`stream "${stream}": cannot read ${abs}: ${errorMessage(e)}`, stream, { cause: e });
    });
    return { rel: toKey(baseDir, abs), abs, size: st.size, mtimeMs: st.mtimeMs };
  }));
  return sortByKey(entries);
}

export const sortByKey = <T extends { rel: string }>(entries: T[]): T[] => entries.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));

/** What state keeps of a file after `records` of its records (done: all of them). */
export function progressOf(entry: FileEntry, records: number, done: boolean): FileProgress {
  const { size, mtimeMs, etag } = entry;
  return etag === undefined ? { size, mtimeMs, records, done } : { size, mtimeMs, etag, records, done };
}

export type FilePlan =
  | { action: 'skip' }
  | { action: 'read'; skipRecords: number; note?: 'changed' | 'resumed-changed' };

/**
 * Whether a file is the one an earlier run recorded: same size and, for an object, same ETag (its Last-Modified
 * changes on a copy of the same bytes, and says nothing of content), for a local file same modification time.
 */
const sameFile = (entry: FileEntry, prev: FileProgress): boolean =>
  prev.size === entry.size && (entry.etag !== undefined ? prev.etag === entry.etag : prev.mtimeMs === entry.mtimeMs);

/** What to do with a file given what an earlier run recorded about it. */
export function planFile(entry: FileEntry, prev: FileProgress | undefined): FilePlan {
  if (!prev) return { action: 'read', skipRecords: 0 };
  const unchanged = sameFile(entry, prev);
  if (prev.done) return unchanged ? { action: 'skip' } : { action: 'read', skipRecords: 0, note: 'changed' };
  // Records already committed stay committed: resuming past them is what keeps a re-run exactly-once.
  return unchanged || prev.records === 0
    ? { action: 'read', skipRecords: prev.records }
    : { action: 'read', skipRecords: prev.records, note: 'resumed-changed' };
}

/**
 * The files of a run that need reading, with their plans: unchanged files already loaded are skipped, and a file that
 * changed since it was loaded is said out loud (every file format shares this).
 */
export function* filesToRead(
  entries: readonly FileEntry[], files: Record<string, FileProgress>, stream: string, logger: Logger,
): Generator<{ entry: FileEntry; skipRecords: number }> {
  for (const entry of entries) {
    const plan = planFile(entry, files[entry.rel]);
    if (plan.action === 'skip') {
      logger.debug({ stream, file: entry.rel }, 'file unchanged since it was loaded; skipped');
      continue;
    }
    if (plan.note === 'changed') {
      logger.warn({ stream, file: entry.rel }, 'file changed since it was loaded; reading it again from the start');
    } else if (plan.note === 'resumed-changed') {
      logger.warn({ stream, file: entry.rel, skip: plan.skipRecords }, 'file changed while partly loaded; resuming after the records already loaded');
    }
    yield { entry, skipRecords: plan.skipRecords };
  }
}

/**
 * What is left to read of a stream's files, one slice per file (Source.slices): a file is the unit a reader resumes in,
 * so tasks loading different files never repeat each other's records. The id hashes the file's key: the same file is
 * the same slice on every run.
 */
export function fileSlices(entries: readonly FileEntry[], state: StreamState | undefined): SourceSlice[] {
  const files = state?.files ?? {};
  return entries
    .filter((e) => planFile(e, files[e.rel]).action === 'read')
    .map((e) => ({ id: createHash('sha256').update(e.rel).digest('hex').slice(0, 16), files: [e.rel] }));
}

/** Source.slices of every file source: the files or objects `pattern` names, one slice per file left to read. */
export async function listSlices(
  pattern: string, baseDir: string, stream: string, s3: S3Options | undefined, state: StreamState | undefined,
): Promise<SourceSlice[]> {
  const set = await listFiles(pattern, baseDir, stream, s3);
  try {
    return fileSlices(set.entries, state);
  } finally {
    set.close();
  }
}

/** The entries a task reads: a slice's files only (RunContext.slice), else all of them. */
export function sliceEntries<T extends { rel: string }>(entries: T[], slice: SourceSlice | undefined): T[] {
  if (!slice?.files) return entries;
  const wanted = new Set(slice.files);
  return entries.filter((e) => wanted.has(e.rel));
}
