// Open a file, local or an object of a bucket, as decoded text chunks, pulled one at a time (backpressure: nothing is
// read ahead of the consumer, and an object's HTTP body is read only as fast as its records are parsed).
//
// Compression is told by the first bytes (gzip 1F 8B, Zstandard 28 B5 2F FD), then by the name (`.gz`, `.zst`). A
// local file's head is read first; an object's is peeked from the start of its own body, so reading an object is
// one request whatever its compression.
import { createReadStream } from 'node:fs';
import { open as openFile } from 'node:fs/promises';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { createDecoder, type InvalidUtf8, type TextChunk } from './decode.js';
import type { FileEntry } from './files.js';
import { createZstdDecompress } from './zstd.js';

export type Compression = 'auto' | 'gzip' | 'zstd' | 'none';
/** What a file's bytes are: what `auto` resolves to. */
export type Codec = 'gzip' | 'zstd' | 'none';

export interface OpenOptions {
  encoding: string;
  compression: Compression;
  invalidUtf8: InvalidUtf8;
  signal?: AbortSignal;
}

// 64 KB: per-chunk overhead (decoder and parser calls) is already small, and the decoded text stays below V8's
// large-object size, so it is freed by the young-generation GC with the rows sliced from it. With 256 KB chunks every
// chunk (and its copy joined to the previous chunk's tail) went to large-object space, freed only by full GCs: the
// old generation grew to ~130 MB between them (measured: peak RSS 170–196 MB → 125–129 MB, same speed).
const CHUNK_BYTES = 64 * 1024;

/** Bytes enough to tell the formats apart (Zstandard's magic number is the longest). */
const HEAD_BYTES = 4;

/** The codec of a file from its name and first bytes (`head`: up to HEAD_BYTES). */
export function codecOf(name: string, head: Uint8Array, compression: Compression): Codec {
  if (compression !== 'auto') return compression;
  // An empty file is an empty input, whatever its name says.
  if (head.length === 0) return 'none';
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head.length >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  const lower = name.toLowerCase();
  if (lower.endsWith('.gz')) return 'gzip';
  if (lower.endsWith('.zst')) return 'zstd';
  return 'none';
}

async function readHead(path: string): Promise<Buffer> {
  const fh = await openFile(path, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    const { bytesRead } = await fh.read(head, 0, HEAD_BYTES, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** The codec of a local file. */
export async function fileCodec(path: string, compression: Compression): Promise<Codec> {
  return compression === 'auto' ? codecOf(path, await readHead(path), compression) : compression;
}

/**
 * The first bytes of a stream, and a stream of all its bytes (those included). Reading goes on pulling from the
 * same body; destroying the result destroys the body.
 */
async function peek(body: Readable, bytes: number): Promise<{ head: Buffer; stream: Readable }> {
  const it = (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first: Buffer[] = [];
  let length = 0;
  let ended = false;
  while (length < bytes) {
    const next = await it.next();
    if (next.done) {
      ended = true;
      break;
    }
    first.push(next.value);
    length += next.value.length;
  }
  async function* all(): AsyncGenerator<Buffer> {
    yield* first;
    if (ended) return;
    for (let next = await it.next(); !next.done; next = await it.next()) yield next.value;
  }
  const stream = Readable.from(all(), { objectMode: false });
  // An early end of the consumer (destroy) ends the body too, not only at its next read.
  stream.once('close', () => void it.return?.());
  return { head: Buffer.concat(first).subarray(0, bytes), stream };
}

async function decompress(raw: Readable, codec: Codec): Promise<Readable> {
  if (codec === 'none') return raw;
  const inflate = codec === 'gzip' ? createGunzip({ chunkSize: CHUNK_BYTES }) : await createZstdDecompress();
  // pipeline() destroys the raw stream when the consumer stops early or decompression fails.
  return pipeline(raw, inflate, () => {});
}

/** The bytes of a file or an object, decompressed. */
export async function openBytes(entry: FileEntry, options: OpenOptions): Promise<Readable> {
  if (entry.object) {
    const body = (await entry.object.store.read(entry.object.key, { signal: options.signal }))!;
    if (options.compression !== 'auto') return decompress(body, options.compression);
    const { head, stream } = await peek(body, HEAD_BYTES);
    return decompress(stream, codecOf(entry.object.key, head, 'auto'));
  }
  const codec = await fileCodec(entry.abs, options.compression);
  return decompress(createReadStream(entry.abs, { highWaterMark: CHUNK_BYTES, signal: options.signal }), codec);
}

export async function* openText(entry: FileEntry, options: OpenOptions): AsyncGenerator<TextChunk> {
  const decoder = createDecoder(options.encoding, options.invalidUtf8);
  const bytes = await openBytes(entry, options);
  try {
    for await (const chunk of bytes as AsyncIterable<Buffer>) {
      const text = decoder.write(chunk);
      if (text.text.length > 0) yield text;
    }
    const rest = decoder.end();
    if (rest.text.length > 0) yield rest;
  } finally {
    bytes.destroy();
  }
}
