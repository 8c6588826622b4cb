// The transform phase of one stream: its steps compiled once, run over every extracted batch. Rows a step rejects
// go to the dead-letter queue (stage `transform`, with the source row as read and its position); rows a step drops
// count as filtered; the batch keeps its checkpoint. Blocking steps (aggregate, keep-last dedupe) hold rows until
// the end of the stream: then no batch may commit its checkpoint before the held rows are loaded, so the chain
// keeps the latest checkpoint back and hands it out with the rows the steps emit at the end.
//
// Each step is measured as it runs (`steps()`): rows in, out, dead-lettered and filtered, and its time summed over
// batches. Two clock reads and a few additions per step and batch, never per row, so the measuring costs nothing a
// benchmark can see.
import { rowJson } from '../core/record.js';
import type { ColumnType, Batch, RejectedRow, Row, SourcePosition, StepCounts, StreamCounts, StreamState } from '../core/types.js';
import { rowAt } from '../core/types.js';
import { Frame, type FrameReject } from './frame.js';
import { getStepSpec } from './registry.js';
import type { CompiledStep, StepEnv } from './step.js';

/** One step as validated: `{ <kind>: <options> }`. */
export type StepConfig = Record<string, unknown>;

export interface DlqSink {
  add(rows: RejectedRow[]): Promise<number>;
}

export const stepKind = (step: StepConfig): string => Object.keys(step)[0];

/** Whether each part of a stream can go through these steps apart from the rest (no step needs the whole stream). */
export function splitsSafely(configs: StepConfig[]): boolean {
  return configs.every((c) => {
    const spec = getStepSpec(stepKind(c));
    return !!spec && !spec.wholeStream && !(spec.blocking?.(c[stepKind(c)]) ?? false);
  });
}

export class TransformChain {
  /** True when a step holds rows until the end of the stream. */
  readonly blocking: boolean;
  private readonly steps: CompiledStep[];
  /** Each step's counts and time so far, by position. */
  private readonly meters: StepCounts[];
  /** Room for the columns steps add, reserved when rows are copied (growing every row array later copies it again). */
  private readonly extra: number;
  private held: StreamState | undefined;
  private flushed = false;
  /** At the end of the stream: the frames still to come out of blocking steps. */
  private draining: AsyncGenerator<Frame> | undefined;
  private ahead: IteratorResult<Frame> | undefined;
  private children = new Map<string, Row[]>();

  constructor(configs: StepConfig[], env: StepEnv) {
    const compiled = configs.map((c) => {
      const kind = stepKind(c);
      const spec = getStepSpec(kind);
      if (!spec) throw new Error(`unknown transform step \`${kind}\``);
      return { spec, options: c[kind], step: spec.compile(c[kind], env) };
    });
    this.steps = compiled.map((c) => c.step);
    this.meters = configs.map((c, step) => ({ step, name: stepKind(c), records_in: 0, records_out: 0, failed: 0, filtered: 0, duration_ms: 0 }));
    this.extra = this.steps.reduce((n, s) => n + (s.adds ?? 0), 0);
    this.blocking = compiled.some((c) => c.spec.blocking?.(c.options) ?? false);
  }

  /**
   * Column types after the chain: types known before it (a source catalog) followed through renames and drops,
   * plus what casts declare. They become declared types of the stream's schema.
   */
  types(known: Record<string, ColumnType> = {}): Record<string, ColumnType> {
    const declared = new Map(Object.entries(known));
    for (const s of this.steps) s.types?.(declared);
    return Object.fromEntries(declared);
  }

  /** True when a step makes child rows (flatten): the stream task then loads child tables too. */
  get producesChildren(): boolean {
    return this.steps.some((s) => s.takeChildren);
  }

  /** True while blocking steps hold rows that the end of the stream will emit. */
  get holding(): boolean {
    return this.blocking && !this.flushed;
  }

  /** What each step did so far (copies, durations rounded to 0.01 ms). */
  stepCounts(): StepCounts[] {
    return this.meters.map((m) => ({ ...m, duration_ms: Math.round(m.duration_ms * 100) / 100 }));
  }

  /**
   * Go on from counts of an earlier chain of the same steps: a stream read again from its last commit (a row-by-row
   * retry) counts the rows after that commit once, as the stream's own counts do.
   */
  resumeFrom(earlier: readonly StepCounts[]): void {
    earlier.forEach((m, i) => Object.assign(this.meters[i], m));
  }

  /** Child rows (flatten) produced since the last call, by child stream. */
  takeChildren(): Map<string, Row[]> {
    const out = this.children;
    this.children = new Map();
    return out;
  }

  /**
   * Transform one extracted batch, or — with `undefined`, at the end of the stream — emit what blocking steps held,
   * a batch per call, the last with the checkpoint (afterwards undefined). Counts filtered and dead-lettered rows
   * into `counts`.
   */
  async apply(batch: Batch | undefined, counts: StreamCounts, dlq: DlqSink): Promise<Batch | undefined> {
    if (!batch) {
      if (!this.holding) return undefined;
      if (!this.draining) {
        this.draining = this.drain(counts, dlq);
        this.ahead = await this.draining.next();
      }
      const current = this.ahead!;
      if (!current.done) this.ahead = await this.draining.next();
      if (!current.done && !this.ahead!.done) return toBatch(current.value, undefined, undefined);
      // The checkpoint goes with the last rows held (a frame read ahead tells which): the load commits none before.
      this.flushed = true;
      return toBatch(current.done ? Frame.objects([]) : current.value, undefined, this.held);
    }
    // Steps change rows in place; the batch keeps the rows as read, for dead-letter payloads.
    let frame = batch.values && batch.columns
      ? Frame.columnar(batch.columns, copyRows(batch.values, this.extra))
      : Frame.objects(batch.rows.map((r) => ({ ...r })));
    const rejects: FrameReject[] = [];
    for (let k = 0; k < this.steps.length; k++) frame = await this.run(k, frame, rejects, counts);
    if (rejects.length) counts.dead_lettered += await dlq.add(rejects.map((r) => toRejected(r, batch)));
    if (this.blocking) {
      if (batch.checkpoint) this.held = batch.checkpoint;
      return toBatch(frame, batch, undefined);
    }
    return toBatch(frame, batch, batch.checkpoint, batch.flush);
  }

  /** Step `k` over a frame, measured: its rows in and out, its rejects and drops, and its time (compaction included). */
  private async run(k: number, frame: Frame, rejects: FrameReject[], counts: StreamCounts): Promise<Frame> {
    const t0 = performance.now();
    const meter = this.meters[k];
    meter.records_in += frame.length;
    const r = this.steps[k].apply(frame);
    const out = r instanceof Promise ? await r : r;
    this.settle(out, rejects, counts, meter);
    meter.duration_ms += performance.now() - t0;
    return out;
  }

  /** Remove the rows a step marked, counting them (and the rows it passes on) on the stream and on the step's meter. */
  private settle(frame: Frame, rejects: FrameReject[], counts: StreamCounts, meter: StepCounts): void {
    const done = frame.compact();
    counts.filtered += done.filtered;
    meter.filtered += done.filtered;
    meter.failed += done.rejects.length;
    meter.records_out += frame.length;
    for (const r of done.rejects) rejects.push(r);
    for (const s of this.steps) {
      const kids = s.takeChildren?.();
      if (!kids) continue;
      for (const [name, rows] of kids) {
        const list = this.children.get(name);
        if (list) for (const row of rows) list.push(row);
        else this.children.set(name, rows);
      }
    }
  }

  /**
   * Run the end of the stream through the chain, a frame at a time: what each blocking step emits goes through the
   * steps after it, and each step's own flush follows everything that came to it. Rejects go to the dead-letter queue
   * with the frame they left.
   */
  private async *drain(counts: StreamCounts, dlq: DlqSink): AsyncGenerator<Frame> {
    const rejects: FrameReject[] = [];
    let flow: AsyncIterable<Frame> = (async function* none() {})();
    for (let k = 0; k < this.steps.length; k++) flow = this.stage(k, flow, rejects, counts);
    for await (const frame of flow) {
      if (rejects.length) counts.dead_lettered += await dlq.add(rejects.splice(0).map((r) => toRejected(r, undefined)));
      if (frame.length) yield frame;
    }
    if (rejects.length) counts.dead_lettered += await dlq.add(rejects.splice(0).map((r) => toRejected(r, undefined)));
  }

  /** Step `k` at the end of the stream: over the frames the steps before it emit, then its own held rows. */
  private async *stage(k: number, input: AsyncIterable<Frame>, rejects: FrameReject[], counts: StreamCounts): AsyncGenerator<Frame> {
    for await (const frame of input) yield await this.run(k, frame, rejects, counts);
    const meter = this.meters[k];
    let t0 = performance.now();
    const out = this.steps[k].flush?.();
    if (out) {
      // What a blocking step held comes out here: its rows out (and an aggregate's folded rows, as filtered).
      for await (const frame of out instanceof Frame ? [out] : out) {
        this.settle(frame, rejects, counts, meter);
        meter.duration_ms += performance.now() - t0;
        yield frame;
        t0 = performance.now();
      }
    }
    meter.duration_ms += performance.now() - t0;
  }
}
/** The frame as a batch again: columnar when it still is (one projection at most), positions mapped to the source. */
function toBatch(frame: Frame, source: Batch | undefined, checkpoint: StreamState | undefined, flush?: boolean): Batch {
  const out: Batch = { rows: [] };
  const { layout } = frame;
  if (layout) {
    out.columns = layout.names;
    out.values = layout.identity ? frame.values : project(frame.values, layout.slots, layout.width);
  } else {
    out.rows = frame.rows;
  }
  if (source?.positionOf) out.positionOf = positionsOf(source, frame.origin);
  if (checkpoint) out.checkpoint = checkpoint;
  if (flush && checkpoint) out.flush = true;
  return out;
}

/** Copies of array rows with `extra` free slots at the end. */
function copyRows(rows: unknown[][], extra: number): unknown[][] {
  if (extra === 0) return rows.map((r) => r.slice());
  const out = new Array<unknown[]>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const n = row.length;
    const copy = new Array<unknown>(n + extra);
    for (let k = 0; k < n; k++) copy[k] = row[k];
    out[i] = copy;
  }
  return out;
}

/**
 * Rows with only the slots the layout names, in its order (after select, drop or reordering). The rows are the
 * chain's own copies: when no slot moves left past another (drops, renames, added columns), each row is rewritten in
 * place, front to back, which reads every slot before it is overwritten and spares an array per row (a 1M-row chain
 * with a drop: ~50 ms and the garbage it makes).
 */
function project(rows: unknown[][], slots: readonly number[], width: number): unknown[][] {
  const n = slots.length;
  let ordered = true;
  for (let k = 0; k < n && ordered; k++) ordered = slots[k] >= k && (k === 0 || slots[k] > slots[k - 1]) && slots[k] < width;
  if (ordered) {
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      for (let k = 0; k < n; k++) row[k] = row[slots[k]] ?? null;
      row.length = n;
    }
    return rows;
  }
  const out = new Array<unknown[]>(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    const next = new Array<unknown>(n);
    for (let k = 0; k < n; k++) next[k] = row[slots[k]] ?? null;
    out[i] = next;
  }
  return out;
}

/**
 * Positions of the rows that remain, read from the extracted batch. Built in its own small function: a closure
 * made inside a bigger (async) one keeps that one's whole context alive, and per batch that was measured to push
 * enough into the old generation to multiply full garbage collections by ten.
 */
function positionsOf(source: Batch, origin: number[] | undefined): (i: number) => SourcePosition {
  if (!origin) return (i) => source.positionOf!(i);
  return (i) => (origin[i] >= 0 ? source.positionOf!(origin[i]) : {});
}

function toRejected(r: FrameReject, source: Batch | undefined): RejectedRow {
  const fromSource = source && r.origin >= 0;
  return {
    stage: 'transform',
    reason: r.reason,
    raw: rowJson(fromSource ? rowAt(source, r.origin) : r.row),
    position: fromSource ? source.positionOf?.(r.origin) ?? {} : {},
  };
}
