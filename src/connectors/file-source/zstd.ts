// Zstandard decompression as a stream, through fzstd (a pure-JS decoder) on every Node. Node's own
// (zlib.createZstdDecompress, Node ≥ 22.15) is not used: on Node 24.21 it stops after the first frame of a file of
// several (what pzstd and `cat a.zst b.zst` make) — half the rows gone without an error — and fails a stream cut
// into small pieces with a premature close (measured; test/unit/zstd.test.ts holds fzstd to both).
import { Transform, type Duplex, type TransformCallback } from 'node:stream';

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

/** A Zstandard decompressing stream. */
export async function createZstdDecompress(): Promise<Duplex> {
  const { Decompress } = await import('fzstd');
  return new FzstdDecompress(Decompress);
}
