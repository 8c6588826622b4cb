// Zstandard decompression as a stream: Node's own (zlib.createZstdDecompress, Node ≥ 22.15 and 23.8) when the runtime
// has it, otherwise fzstd, a pure-JS decoder, so `.zst` files read the same on every supported Node (20, 22, 24).
import { Transform, type Duplex, type TransformCallback } from 'node:stream';
import * as zlib from 'node:zlib';

type NativeZstd = (options?: { chunkSize?: number }) => Duplex;

/** fzstd's streaming decoder behind a Transform: blocks come out as they are complete, the last one at flush. */
class FzstdDecompress extends Transform {
  private readonly decoder: { push(chunk: Uint8Array, final?: boolean): void };

  constructor(Decompress: typeof import('fzstd').Decompress) {
    super();
    // fzstd keeps a window of recent blocks it may reuse: each block handed on is a copy.
    this.decoder = new Decompress((block) => {
      if (block.length > 0) this.push(Buffer.from(block));
    });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    try {
      this.decoder.push(chunk);
      done();
    } catch (e) {
      done(zstdError(e));
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      // `final`: input that stops inside a frame is an error, as with gunzip.
      this.decoder.push(new Uint8Array(0), true);
      done();
    } catch (e) {
      done(zstdError(e));
    }
  }
}

const zstdError = (e: unknown): Error =>
  new Error(`invalid Zstandard data (${e instanceof Error ? e.message : String(e)})`, { cause: e });

/** A Zstandard decompressing stream: the runtime's own when it has one. */
export async function createZstdDecompress(chunkSize: number): Promise<Duplex> {
  const native = (zlib as unknown as { createZstdDecompress?: NativeZstd }).createZstdDecompress;
  if (typeof native === 'function') return native({ chunkSize });
  return fzstdDecompress();
}

/** fzstd's decoder as a stream (exported so tests exercise it on runtimes that have a native one too). */
export async function fzstdDecompress(): Promise<Duplex> {
  const { Decompress } = await import('fzstd');
  return new FzstdDecompress(Decompress);
}
