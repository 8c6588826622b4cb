// A stream split into slices (Source.slices: the files of a glob, ranges of a table's key, shares of a child API
// stream's parents), each loaded by its own task — on workers, side by side. A slice commits its rows with its own state, under `<stream>#<id>`, so tasks never contend for one state
// version and each resumes where it stopped. The stream's own state learns what the slices did when they are
// *folded* into it (Destination.foldSlices, one transaction): at the end of the split, and by the next task of the
// stream that finds slice states left over (a dispatching process that died), so no path reads a slice's rows again.
//
// The watermark (a cursor) advances only when every slice of the split finished: a slice that failed may still hold
// rows older than what the others saw. Files are positions, not a watermark: each slice's progress counts at once.
import type { Destination, SourceSlice } from '../core/connector.js';
import type { Column, FileProgress, Schema, StreamState } from '../core/types.js';
import { compareCursor } from '../core/values/coerce.js';
import { widen } from '../core/values/infer.js';
import { splitsSafely } from '../transforms/chain.js';
import type { StreamTask } from './stream-task.js';

export { sliceKey } from '../core/slice-key.js';

/**
 * Where a slice with no state of its own starts: the stream's state, with only the slice's files' progress and none of
 * the source's own position (a key range starts at its low end).
 */
export function sliceStart(base: StreamState | undefined, slice: SourceSlice): StreamState | undefined {
  if (!base) return undefined;
  const { run: _run, files, connector: _connector, ...rest } = base;
  const own: Record<string, FileProgress> = {};
  for (const f of slice.files ?? []) if (files?.[f]) own[f] = files[f];
  return { ...rest, files: own };
}

/**
 * The stream's state with its slices' progress folded in: every slice's files (a slice started from the stream's
 * progress on them, so its own is the newer), their columns, and — when `complete` (every slice of the split
 * finished) — the newest cursor any of them reached.
 */
export function foldStates(base: StreamState | undefined, slices: StreamState[], complete: boolean): StreamState {
  const { run: _run, ...rest } = base ?? { version: 1 };
  const files: Record<string, FileProgress> = { ...rest.files };
  for (const s of slices) Object.assign(files, s.files);
  const schema = slices.reduce<Schema | undefined>((a, s) => unionSchema(a, s.schema), rest.schema);
  let cursor = rest.cursor;
  if (complete) {
    for (const s of slices) {
      const c = s.cursor;
      if (!c || c.value === null || (cursor && cursor.column !== c.column)) continue;
      if (!cursor || cursor.value === null || compareCursor(c.value, cursor.value) > 0) cursor = c;
    }
  }
  return {
    ...rest, version: 1,
    ...(Object.keys(files).length ? { files } : {}),
    ...(schema ? { schema } : {}),
    ...(cursor ? { cursor } : {}),
  };
}

/** Two schemas of one table: every column of either, types widened where a slice saw wider values. */
function unionSchema(a: Schema | undefined, b: Schema | undefined): Schema | undefined {
  if (!a || !b) return a ?? b;
  const columns: Column[] = a.columns.map((c) => ({ ...c }));
  const byName = new Map(columns.map((c) => [c.name, c]));
  for (const c of b.columns) {
    const known = byName.get(c.name);
    if (!known) {
      columns.push({ ...c });
      byName.set(c.name, columns[columns.length - 1]);
      continue;
    }
    known.nullable ||= c.nullable;
    if (!known.declared && !c.declared) known.type = widen(known.type, c.type);
  }
  return { columns };
}

/**
 * Fold the slice states of a stream into its state, if it has any: what a split left behind. `complete` when every
 * slice of the split finished. True when there was something to fold.
 */
export async function foldSlices(destination: Destination, pipeline: string, stream: string, runId: string, complete = false): Promise<boolean> {
  if (!destination.sliceStates || !destination.foldSlices) return false;
  const slices = await destination.sliceStates(pipeline, stream);
  if (slices.size === 0) return false;
  const base = await destination.readState(pipeline, stream);
  await destination.foldSlices(pipeline, stream, runId, foldStates(base, [...slices.values()], complete), [...slices.keys()]);
  return true;
}

/**
 * Whether a stream's config lets it load in slices at all (whether it has several, and of what kind, is its source's
 * to say): no replace, no dataset checks, no lookback, no step that needs the whole stream — where loading its parts
 * apart gives what loading it whole would. Files split only appends (which file's row wins a key is their order);
 * key ranges and shares of parents any of append, merge and scd2 (a key lives in one range, a child under one parent).
 */
export function splits(task: StreamTask): boolean {
  const s = task.stream;
  return ['append', 'merge', 'scd2'].includes(s.write) && !task.dryRun && !task.window && !task.replay && !task.fullRefresh
    && !task.checks?.length && s.lookback === undefined && splitsSafely(task.transforms ?? []);
}
