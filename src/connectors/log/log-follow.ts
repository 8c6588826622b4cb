// Follow mode (`tail -F`): read a growing log by byte offset, so state can say exactly which byte the next run starts
// at. Lines are split on the newline byte and decoded one by one; only complete lines are consumed, so a line being
// written is never cut in two. Rotation and truncation are detected by comparing the path's file identity and size
// with the file held open.
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import iconv from 'iconv-lite';
import type { RunContext } from '../../core/connector.js';
import { RunError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Batch, StreamState } from '../../core/types.js';
import { fileCodec } from '../file-source/open.js';
import { MicroBatch } from '../micro-batch.js';
import { parseLine, type LineOptions } from './log-formats.js';
import type { LogStreamOptions } from './log-spec.js';
import { Tail, type LineSink } from './log-tail.js';

/** What state keeps under `connector.follow`. */
export interface FollowPosition {
  /** Device and inode of the file the offset belongs to. */
  dev: number;
  ino: number;
  /** Byte offset after the last line consumed (committed with the rows it covers). */
  offset: number;
  /** Lines consumed before `offset`, for line numbers in the dead-letter queue. */
  line: number;
}

const CHUNK = 64 * 1024;

type Decode = (bytes: Buffer) => { text: string; invalid: boolean };

function lineDecoder(encoding: string): Decode {
  if (!/^utf-?8$/i.test(encoding)) return (b) => ({ text: iconv.decode(b, encoding), invalid: false });
  const fatal = new TextDecoder('utf-8', { fatal: true });
  const lossy = new TextDecoder('utf-8');
  return (b) => {
    try {
      return { text: fatal.decode(b), invalid: false };
    } catch {
      return { text: lossy.decode(b), invalid: true };
    }
  };
}

/** Resolves after `ms`, or as soon as one of the signals aborts. */
function pause(ms: number, signals: (AbortSignal | undefined)[]): Promise<void> {
  return new Promise((done) => {
    const live = signals.filter((s): s is AbortSignal => !!s);
    if (live.some((s) => s.aborted)) return done();
    const finish = () => {
      clearTimeout(timer);
      for (const s of live) s.removeEventListener('abort', finish);
      done();
    };
    const timer = setTimeout(finish, ms);
    for (const s of live) s.addEventListener('abort', finish, { once: true });
  });
}

/** A file in the same directory with the given identity: where a rotated log went (access.log → access.log.1). */
async function findRotated(abs: string, dev: number, ino: number): Promise<string | undefined> {
  const dir = dirname(abs);
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names) {
    if (!name.startsWith(basename(abs)) || name === basename(abs)) continue;
    const st = await stat(join(dir, name)).catch(() => undefined);
    if (st?.isFile() && st.dev === dev && st.ino === ino) return join(dir, name);
  }
  return undefined;
}

export async function* followLog(
  o: LogStreamOptions, lineOpts: LineOptions, streamName: string, state: StreamState | undefined, ctx: RunContext,
): AsyncGenerator<Batch> {
  const abs = resolve(ctx.baseDir, o.path);
  const file = relative(ctx.baseDir, abs).split(sep).join('/');
  let tail: Tail;
  try {
    tail = await Tail.open(abs, o.max_record_bytes);
  } catch (e) {
    throw new RunError(`stream "${streamName}": cannot open ${file}: ${errorMessage(e)}`, streamName, { cause: e });
  }
  // Byte offsets are offsets in the file as written: a compressed file cannot be followed.
  const codec = await fileCodec(abs, o.compression === 'none' ? 'none' : 'auto').catch(() => 'none' as const);
  if (codec !== 'none') {
    await tail.fh.close();
    throw new RunError(`stream "${streamName}": ${file} is ${codec}-compressed; \`follow\` reads plain, growing files`, streamName);
  }
  const follower = new Follower(o, lineOpts, file, abs, state, ctx.logger.child({ stream: streamName, file }), tail);
  try {
    yield* follower.follow(ctx);
  } finally {
    await follower.tail.fh.close().catch(() => undefined);
  }
}

/** Lines of the followed file into micro-batches, each with the position that covers it. */
class Follower implements LineSink {
  private readonly decode: Decode;
  private readonly pending = new MicroBatch();
  /** True when the position moved since the last checkpoint handed out (a rotation with no new line yet). */
  private moved = false;

  constructor(
    private readonly o: LogStreamOptions, private readonly lineOpts: LineOptions, private readonly file: string,
    private readonly abs: string, private readonly state: StreamState | undefined, private readonly log: Logger,
    public tail: Tail,
  ) {
    this.decode = lineDecoder(o.encoding);
  }

  async *follow(ctx: RunContext): AsyncGenerator<Batch> {
    const batchSize = Math.max(1, ctx.batchSize);
    yield* this.resume(ctx, batchSize);
    for (;;) {
      yield* this.readToEnd(ctx, batchSize);
      // Stopping: hand over what was read, with the position that covers it, and end the stream.
      if (ctx.drain?.aborted) {
        // Closed before the last yield: the engine stops pulling at this checkpoint and may never resume the generator.
        await this.tail.fh.close();
        if (this.pending.size > 0 || this.moved) yield this.cut();
        return;
      }
      if (this.pending.size > 0 && Date.now() - this.pending.startedAt! >= this.o.flush_ms) yield this.cut();
      const st = await stat(this.abs).catch(() => undefined);
      if (st && (st.ino !== this.tail.ino || st.dev !== this.tail.dev)) {
        // Rotated: what the writer put in the old file before the switch is read first.
        yield* this.readToEnd(ctx, batchSize);
        this.tail.finish(this);
        this.log.info({ lines: this.tail.line }, 'log rotated; finished the old file, following the new one from the start');
        const next = await Tail.open(this.abs, this.o.max_record_bytes).catch(() => undefined);
        if (next) {
          await this.tail.fh.close();
          this.tail = next;
          this.moved = true;
          continue;
        }
      } else if (st && st.size < this.tail.readPos) {
        this.log.warn({ offset: this.tail.readPos, size: st.size }, 'log truncated; reading it again from the start');
        this.tail.rewind();
        this.moved = true;
        continue;
      }
      const waited = this.pending.size > 0 ? Date.now() - this.pending.startedAt! : 0;
      const wait = this.pending.size > 0 ? Math.min(this.o.poll_ms, Math.max(1, this.o.flush_ms - waited)) : this.o.poll_ms;
      await pause(wait, [ctx.signal, ctx.drain]);
      ctx.signal.throwIfAborted();
    }
  }

  /** Where the previous run stopped: the same file (resume, or restart if it was truncated), or a file rotated away. */
  private async *resume(ctx: RunContext, batchSize: number): AsyncGenerator<Batch> {
    const prev = this.state?.connector?.follow as FollowPosition | undefined;
    if (!prev) return;
    const size = (await this.tail.fh.stat()).size;
    if (prev.dev === this.tail.dev && prev.ino === this.tail.ino) {
      if (size < prev.offset) {
        this.log.warn({ offset: prev.offset, size }, 'log truncated since the last run; reading it again from the start');
        this.moved = true;
      } else {
        this.tail.seek(prev.offset, prev.line);
      }
      return;
    }
    const rotated = await findRotated(this.abs, prev.dev, prev.ino);
    if (rotated) {
      this.log.info({ rotated: basename(rotated), offset: prev.offset }, 'log rotated since the last run; finishing the old file first');
      const current = this.tail;
      this.tail = await Tail.open(rotated, this.o.max_record_bytes, prev.offset, prev.line);
      try {
        yield* this.readToEnd(ctx, batchSize);
        this.tail.finish(this);
      } finally {
        await this.tail.fh.close();
        this.tail = current;
      }
    } else {
      this.log.warn({ offset: prev.offset }, 'log rotated since the last run and the old file is gone; reading the new file from the start');
    }
    this.moved = true;
  }

  /** Read what the file holds now, up to its end; full batches are handed over as they fill. */
  private async *readToEnd(ctx: RunContext, batchSize: number): AsyncGenerator<Batch> {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      ctx.signal.throwIfAborted();
      const { bytesRead } = await this.tail.fh.read(buf, 0, CHUNK, this.tail.readPos);
      if (bytesRead === 0) return;
      const ready: Batch[] = [];
      this.tail.take(buf.subarray(0, bytesRead), this, () => {
        if (this.pending.size >= batchSize) ready.push(this.cut());
      });
      yield* ready;
    }
  }

  line(bytes: Buffer, line: number, offset: number): void {
    this.moved = true;
    const body = bytes.length && bytes[bytes.length - 1] === 0x0d ? bytes.subarray(0, bytes.length - 1) : bytes;
    const { text, invalid } = this.decode(body);
    if (text.trim().length === 0) return;
    const position = { file: this.file, line, offset };
    if (invalid && this.o.invalid_utf8 === 'reject') {
      this.pending.reject({ stage: 'parse', reason: 'invalid UTF-8', raw: text, position });
      return;
    }
    const r = parseLine(text, this.lineOpts);
    if ('row' in r) this.pending.add(r.row, position);
    else this.pending.reject({ stage: 'parse', reason: r.error, raw: text, position });
  }

  tooLong(head: Buffer, line: number, offset: number): void {
    this.moved = true;
    this.pending.reject({
      stage: 'parse', reason: `line longer than max_record_bytes (${this.o.max_record_bytes} bytes)`, raw: this.decode(head).text,
      position: { file: this.file, line, offset },
    });
  }

  private cut(): Batch {
    const { tail, state } = this;
    this.moved = false;
    return this.pending.cut({
      ...(state ?? {}), version: 1,
      connector: { ...state?.connector, follow: { dev: tail.dev, ino: tail.ino, offset: tail.offset, line: tail.line } satisfies FollowPosition },
    });
  }
}
