// A stream dispatched as several tasks: what is left to read of it is cut into slices (Source.slices: the files of a
// glob, ranges of a large table's key, shares of a child API stream's parents), each one a job a worker takes. Every
// slice commits its rows with its own state (src/engine/slices.ts), so the slices load side by side, each exactly
// once, and one that fails or whose worker dies resumes alone. Once they are over, their progress is folded into the
// stream's state in one transaction — the watermark moving only if every slice finished — and the run gets one result
// for the stream: counts summed, phases as long as the longest slice's.
//
// A stream splits only where loading its parts apart gives what loading it whole would (src/engine/slices.ts splits).
import { errorMessage } from '../core/errors.js';
import { PHASES, emptyCounts, type Status, type StepCounts, type StreamCounts } from '../core/types.js';
import type { LoadedPipeline } from '../config/types.js';
import type { ControlStore } from '../control/control-store.js';
import { getSourceSpec } from '../connectors/registry.js';
import { foldSlices, splits } from '../engine/slices.js';
import type { DispatchParts } from '../engine/runner.js';
import type { StreamResult, StreamTask } from '../engine/stream-task.js';

/**
 * Run a stream as slices, each through `dispatch`; undefined when it is not split (it has one slice or none, or its
 * source or destination cannot), and the caller runs it as one task.
 */
export async function runSplit(
  task: StreamTask, loaded: LoadedPipeline, parts: DispatchParts,
  dispatch: (slice: StreamTask, onProgress: (counts: StreamCounts) => void) => Promise<StreamResult>,
  onProgress?: (stream: string, counts: StreamCounts) => void,
): Promise<StreamResult | undefined> {
  const { destination, store, ctx } = parts;
  if (!splits(task) || !destination.sliceStates || !destination.foldSlices) return undefined;
  const name = task.stream.name;
  const config = loaded.config.sources.find((s) => s.name === task.source)!;
  const source = await getSourceSpec(config.type)!.create(config);
  let slices;
  let base;
  try {
    if (!source.slices) return undefined;
    await source.connect?.(ctx);
    // Whether there is anything to split before what was read of it: most streams are one file or a small table, and
    // their tasks need no more of the state here.
    slices = await source.slices(task.stream, undefined, ctx);
    if (slices && slices.length >= 2) {
      // What an earlier split left unfolded is part of where this one starts.
      await foldSlices(destination, task.pipeline, name, task.runId);
      base = await destination.readState(task.pipeline, name);
      slices = await source.slices(task.stream, base, ctx);
    }
  } finally {
    await source.close?.();
  }
  if (!slices || slices.length < 2) return undefined;
  // Rows of one key may sit in several files, and the last loaded would win a merge: files split appends only.
  if (task.stream.write !== 'append' && slices.some((s) => s.files)) return undefined;
  ctx.logger.info({ stream: name, slices: slices.length }, 'stream split into slices');

  const progress = new Map<string, StreamCounts>();
  const run = (i: number): Promise<StreamResult> => dispatch({ ...task, slice: slices[i] }, (counts) => {
    progress.set(slices[i].id, counts);
    onProgress?.(name, sumCounts([...progress.values()]));
  });
  const results: StreamResult[] = [];
  let rest = slices.map((_, i) => i);
  if (!base?.schema) {
    // A stream never loaded has no table yet: one slice makes it (and the schema the others start from) before the
    // rest create nothing at once.
    results.push(await run(0));
    rest = rest.slice(1);
    if (results[0].status === 'failed') rest = [];
    else await foldSlices(destination, task.pipeline, name, task.runId);
  }
  results.push(...await Promise.all(rest.map(run)));
  const skipped = slices.length - results.length;
  const complete = skipped === 0 && results.every((r) => r.status !== 'failed');
  try {
    await foldSlices(destination, task.pipeline, name, task.runId, complete);
  } catch (e) {
    // Nothing is lost: the next task of the stream folds what is left before it reads.
    ctx.logger.warn({ stream: name, err: errorMessage(e) }, 'the slices\' states could not be folded into the stream\'s yet');
  }
  const result = combine(name, results, skipped);
  await record(store, task, result);
  return result;
}

const sumCounts = (all: StreamCounts[]): StreamCounts => {
  const sum = emptyCounts();
  for (const c of all) for (const k of Object.keys(sum) as (keyof StreamCounts)[]) sum[k] += c[k];
  return sum;
};

const RANK: Record<Status, number> = { success: 0, skipped: 1, partial_success: 2, running: 3, failed: 4 };
const worst = (all: Status[]): Status => all.reduce<Status>((s, t) => (RANK[t] > RANK[s] ? t : s), 'success');

/** One stream's result from its slices': counts summed, each phase as long as its longest slice, the worst status. */
function combine(stream: string, results: StreamResult[], skipped: number): StreamResult {
  const errors = [...new Set(results.flatMap((r) => (r.error ? [r.error] : [])))];
  if (skipped) errors.push(`${skipped} slice${skipped > 1 ? 's' : ''} not run: the first slice, which creates the table, failed`);
  const phases = PHASES.map((phase) => {
    const of = results.flatMap((r) => r.phases.filter((p) => p.phase === phase));
    return { phase, status: of.length ? worst(of.map((p) => p.status)) : 'skipped' as Status, duration_ms: Math.max(0, ...of.map((p) => p.duration_ms)) };
  });
  const steps = sumSteps(results.flatMap((r) => (r.steps ? [r.steps] : [])));
  return {
    stream, status: errors.length ? 'failed' : worst(results.map((r) => r.status)), counts: sumCounts(results.map((r) => r.counts)), phases,
    ...(steps ? { steps } : {}), ...(errors.length ? { error: errors.join('; ') } : {}),
  };
}

function sumSteps(all: StepCounts[][]): StepCounts[] | undefined {
  if (!all.length) return undefined;
  return all[0].map((first, i) => {
    const sum = { ...first, records_in: 0, records_out: 0, failed: 0, filtered: 0, duration_ms: 0 };
    for (const steps of all) {
      const s = steps[i];
      if (!s) continue;
      sum.records_in += s.records_in;
      sum.records_out += s.records_out;
      sum.failed += s.failed;
      sum.filtered += s.filtered;
      sum.duration_ms += s.duration_ms;
    }
    return sum;
  });
}

/** The stream's records in the ledger, as one task would have left them (each slice wrote its own over them). */
async function record(store: ControlStore, task: StreamTask, r: StreamResult): Promise<void> {
  for (const p of r.phases) {
    await store.recordPhase({ runId: task.runId, stream: r.stream, phase: p.phase, status: p.status, durationMs: p.duration_ms, error: p.status === 'failed' ? r.error : undefined });
  }
  if (r.steps) await store.recordSteps(task.runId, r.stream, r.steps);
  await store.recordStream({ runId: task.runId, stream: r.stream, status: r.status, counts: r.counts, error: r.error });
}
