// Follow mode (`tail -F`): read a growing log by byte offset, so state can say exactly which byte the next run starts
// at. Lines are split on the newline byte and decoded one by one; only complete lines are consumed, so a line being
// written is never cut in two. Rotation and truncation are detected by comparing the path's file identity and size
// with the file held open.
import { open, readdir, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import iconv from 'iconv-lite';
import type { RunContext } from '../../core/connector.js';
import { RunError, errorMessage } from '../../core/errors.js';
import type { Batch, RejectedRow, Row, StreamState } from '../../core/types.js';
import { isGzip } from '../file-source/open.js';
import { parseLine, type LineOptions } from './log-formats.js';
import type { LogStreamOptions } from './log-spec.js';

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
const RAW_HEAD = 1024;
const NL = 0x0a;

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

/** One open file being tailed: its handle, identity, and how far it has been read and consumed. */
interface Tail {
  fh: FileHandle;
  dev: number;
  ino: number;
  /** Next byte to read. */
  readPos: number;
  /** Bytes of the line being written (not yet terminated). */
  partial: Buffer[];
  partialBytes: number;
  /** A line longer than max_record_bytes: skipped to its end, rejected with its head. */
  discarding?: { head: string; line: number; offset: number };
  /** Offset after the last consumed line, and lines consumed. */
  offset: number;
  line: number;
}

async function openTail(path: string, offset: number, line: number): Promise<Tail> {
  const fh = await open(path, 'r');
  const st = await fh.stat();
  return { fh, dev: st.dev, ino: st.ino, readPos: offset, partial: [], partialBytes: 0, offset, line };
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
  const log = ctx.logger.child({ stream: streamName, file });
  const decode = lineDecoder(o.encoding);
  const batchSize = Math.max(1, ctx.batchSize);
  const prev = state?.connector?.follow as FollowPosition | undefined;

  let rows: Row[] = [];
  let where: { line: number; offset: number }[] = [];
  let rejected: RejectedRow[] = [];
  let firstPendingAt = 0;
  /** True when the position moved since the last checkpoint handed out (a rotation with no new line yet). */
  let moved = false;

  let tail: Tail;
  try {
    tail = await openTail(abs, 0, 0);
  } catch (e) {
    throw new RunError(`stream "${streamName}": cannot open ${file}: ${errorMessage(e)}`, streamName, { cause: e });
  }
  // Byte offsets are offsets in the file as written: a compressed file cannot be followed.
  if (await isGzip(abs, o.compression === 'none' ? 'none' : 'auto').catch(() => false)) {
    await tail.fh.close();
    throw new RunError(`stream "${streamName}": ${file} is gzip-compressed; \`follow\` reads plain, growing files`, streamName);
  }

  const checkpoint = (): StreamState => ({
    ...(state ?? {}), version: 1,
    connector: { ...state?.connector, follow: { dev: tail.dev, ino: tail.ino, offset: tail.offset, line: tail.line } satisfies FollowPosition },
  });
  const cut = (): Batch => {
    const lines = where;
    const batch: Batch = { rows, positionOf: (i) => ({ file, ...lines[i] }), checkpoint: checkpoint(), flush: true };
    if (rejected.length) batch.rejected = rejected;
    rows = [];
    where = [];
    rejected = [];
    moved = false;
    return batch;
  };
  const pending = () => rows.length + rejected.length;

  /** One complete line (without its newline) that started at byte `start`. */
  const consume = (bytes: Buffer, start: number, end: number): void => {
    tail.line++;
    tail.offset = end;
    moved = true;
    if (pending() === 0) firstPendingAt = Date.now();
    const line = tail.line;
    const body = bytes.length && bytes[bytes.length - 1] === 0x0d ? bytes.subarray(0, bytes.length - 1) : bytes;
    const { text, invalid } = decode(body);
    if (text.trim().length === 0) return;
    if (invalid && o.invalid_utf8 === 'reject') {
      rejected.push({ stage: 'parse', reason: 'invalid UTF-8', raw: text, position: { file, line, offset: start } });
      return;
    }
    const r = parseLine(text, lineOpts);
    if ('row' in r) {
      rows.push(r.row);
      where.push({ line, offset: start });
    } else {
      rejected.push({ stage: 'parse', reason: r.error, raw: text, position: { file, line, offset: start } });
    }
  };

  /** Split freshly read bytes into lines; full batches go to `ready`. */
  const take = (chunk: Buffer, ready: Batch[]): void => {
    let from = 0;
    while (from < chunk.length) {
      const nl = chunk.indexOf(NL, from);
      if (nl === -1) {
        const rest = chunk.subarray(from);
        if (tail.discarding) break;
        if (tail.partialBytes + rest.length > o.max_record_bytes) {
          const head = decode(Buffer.concat([...tail.partial, rest]).subarray(0, RAW_HEAD)).text;
          tail.discarding = { head, line: tail.line + 1, offset: tail.offset };
          tail.partial = [];
          tail.partialBytes = 0;
        } else {
          tail.partial.push(Buffer.from(rest));
          tail.partialBytes += rest.length;
        }
        break;
      }
      const lineStart = tail.offset;
      const end = tail.readPos + nl + 1;
      const piece = chunk.subarray(from, nl);
      if (!tail.discarding && tail.partialBytes + piece.length > o.max_record_bytes) {
        const head = decode(Buffer.concat([...tail.partial, piece.subarray(0, RAW_HEAD)]).subarray(0, RAW_HEAD)).text;
        tail.discarding = { head, line: tail.line + 1, offset: lineStart };
      }
      if (tail.discarding) {
        const d = tail.discarding;
        tail.discarding = undefined;
        tail.partial = [];
        tail.partialBytes = 0;
        tail.line++;
        tail.offset = end;
        moved = true;
        if (pending() === 0) firstPendingAt = Date.now();
        rejected.push({ stage: 'parse', reason: `line longer than max_record_bytes (${o.max_record_bytes} bytes)`, raw: d.head, position: { file, line: d.line, offset: d.offset } });
      } else {
        const bytes = tail.partialBytes ? Buffer.concat([...tail.partial, piece]) : piece;
        tail.partial = [];
        tail.partialBytes = 0;
        consume(bytes, lineStart, end);
      }
      from = nl + 1;
      if (pending() >= batchSize) ready.push(cut());
    }
    tail.readPos += chunk.length;
  };

  /** Read what the file holds now, up to its end. */
  const readToEnd = async function* (): AsyncGenerator<Batch> {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      ctx.signal.throwIfAborted();
      const { bytesRead } = await tail.fh.read(buf, 0, CHUNK, tail.readPos);
      if (bytesRead === 0) return;
      const ready: Batch[] = [];
      take(buf.subarray(0, bytesRead), ready);
      yield* ready;
    }
  };

  /** The last line of a file that will not grow any more counts even without its newline. */
  const finishFile = (): void => {
    if (tail.discarding) {
      const d = tail.discarding;
      tail.discarding = undefined;
      tail.line++;
      tail.offset = tail.readPos;
      rejected.push({ stage: 'parse', reason: `line longer than max_record_bytes (${o.max_record_bytes} bytes)`, raw: d.head, position: { file, line: d.line, offset: d.offset } });
    } else if (tail.partialBytes) {
      const bytes = Buffer.concat(tail.partial);
      tail.partial = [];
      tail.partialBytes = 0;
      consume(bytes, tail.offset, tail.readPos);
    }
  };

  try {
    // Where the previous run stopped: the same file (resume, or restart if it was truncated), or a file rotated away.
    if (prev) {
      const size = (await tail.fh.stat()).size;
      if (prev.dev === tail.dev && prev.ino === tail.ino) {
        if (size < prev.offset) {
          log.warn({ offset: prev.offset, size }, 'log truncated since the last run; reading it again from the start');
          moved = true;
        } else {
          tail.readPos = tail.offset = prev.offset;
          tail.line = prev.line;
        }
      } else {
        const rotated = await findRotated(abs, prev.dev, prev.ino);
        if (rotated) {
          log.info({ rotated: basename(rotated), offset: prev.offset }, 'log rotated since the last run; finishing the old file first');
          const current = tail;
          tail = await openTail(rotated, prev.offset, prev.line);
          try {
            yield* readToEnd();
            finishFile();
          } finally {
            await tail.fh.close();
          }
          tail = current;
        } else {
          log.warn({ offset: prev.offset }, 'log rotated since the last run and the old file is gone; reading the new file from the start');
        }
        moved = true;
      }
    }

    for (;;) {
      yield* readToEnd();
      // Stopping: hand over what was read, with the position that covers it, and end the stream.
      if (ctx.drain?.aborted) {
        // Closed before the last yield: the engine stops pulling at this checkpoint and may never resume the generator.
        await tail.fh.close();
        if (pending() > 0 || moved) yield cut();
        return;
      }
      if (pending() > 0 && Date.now() - firstPendingAt >= o.flush_ms) yield cut();

      const st = await stat(abs).catch(() => undefined);
      if (st && (st.ino !== tail.ino || st.dev !== tail.dev)) {
        // Rotated: what the writer put in the old file before the switch is read first.
        yield* readToEnd();
        finishFile();
        log.info({ lines: tail.line }, 'log rotated; finished the old file, following the new one from the start');
        const next = await openTail(abs, 0, 0).catch(() => undefined);
        if (next) {
          await tail.fh.close();
          tail = next;
          moved = true;
          continue;
        }
      } else if (st && st.size < tail.readPos) {
        log.warn({ offset: tail.readPos, size: st.size }, 'log truncated; reading it again from the start');
        tail.readPos = tail.offset = 0;
        tail.line = 0;
        tail.partial = [];
        tail.partialBytes = 0;
        tail.discarding = undefined;
        moved = true;
        continue;
      }
      const wait = pending() > 0 ? Math.min(o.poll_ms, Math.max(1, o.flush_ms - (Date.now() - firstPendingAt))) : o.poll_ms;
      await pause(wait, [ctx.signal, ctx.drain]);
      ctx.signal.throwIfAborted();
    }
  } finally {
    await tail.fh.close().catch(() => undefined);
  }
}
