// The schema of a Parquet object without downloading it. A Parquet file ends with its metadata (the footer), its
// length and the magic `PAR1`; DESCRIBE reads only that. So `columns`, which runs at every run for every object the
// glob names (read or not), fetches two small ranges and writes `PAR1` + footer + length + `PAR1` to a temporary
// file for DuckDB, instead of downloading objects that an unchanged state will skip anyway.
import { writeFile } from 'node:fs/promises';
import { buffer } from 'node:stream/consumers';
import { RunError } from '../../core/errors.js';
import type { FileEntry } from '../file-source/files.js';
import { forStream, tempFileFor, type LocalCopy } from '../file-source/s3-files.js';

const MAGIC = 'PAR1';

export async function footerCopy(entry: FileEntry, dir: string, stream: string, signal: AbortSignal): Promise<LocalCopy> {
  const { store, key } = entry.object!;
  const notParquet = (why: string) => new RunError(`stream "${stream}": cannot read ${entry.rel} as Parquet: ${why}`, stream);
  if (entry.size < 12) throw notParquet(`${entry.size} bytes is too short`);
  const range = async (from: number): Promise<Buffer> => {
    try {
      return await buffer((await store.read(key, { range: `bytes=${from}-${entry.size - 1}`, signal }))!);
    } catch (e) {
      throw forStream(e, stream);
    }
  };
  const tail = await range(entry.size - 8);
  if (tail.subarray(4).toString('latin1') !== MAGIC) throw notParquet(`it does not end with ${MAGIC}`);
  const length = tail.readUInt32LE(0);
  if (length + 12 > entry.size) throw notParquet(`its footer length (${length}) is larger than the file`);
  const footer = await range(entry.size - 8 - length);
  const copy = await tempFileFor(dir, key);
  await writeFile(copy.path, Buffer.concat([Buffer.from(MAGIC, 'latin1'), footer]));
  return copy;
}
