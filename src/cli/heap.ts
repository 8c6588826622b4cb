// V8's heap for `sluice run`, shaped before anything else is loaded so that the heap is shaped by it from the start.
// The pipeline file is only glanced at here (its top-level keys); a file this misjudges runs correctly either way,
// only with V8's defaults.
//
// - Old generation: a pipeline without transforms or checks holds nothing from one batch to the next, so what reaches
//   the old generation is batches already loaded. Collecting it once it has grown by a quarter, not V8's default of
//   up to 4×, lowers a database copy's peak by about 10 MB at a cost too small to measure. Steps that keep state
//   (dedupe, lookups, unique checks) hold a large live set, which frequent full collections would cost time and, set
//   even for the start of such a run, memory: those runs keep V8's default.
// - Young generation: V8 doubles it, up to 2 × 16 MB, each time as much has survived collections as it holds. A
//   source that hands over one page at a time, nothing of which outlives the page's load, runs as fast in less: its
//   spec says how much (`SourceSpec.youngGenerationMb`; measured on 1M rows into PostgreSQL, from MariaDB 2 × 4 MB
//   took 25 MB off the peak for ~4% more CPU). Which sources a run has is known only once the CLI has loaded the
//   pipeline, so the young generation is held at its starting size until then (`settleYoungGeneration`), and then
//   capped at the largest size its sources ask for, or let grow as V8 would when any source asks for none (a file
//   parser keeps its read-ahead text alive through the rows sliced from it: capped, a CSV load ran twice as long).
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

export interface HeapPlan {
  /** V8's `--heap-growing-percent` (old generation); undefined: V8's default. */
  growingPercent?: number;
  /** Hold the young generation until the pipeline's sources are known (see the header). */
  holdYoung?: boolean;
}

/** V8's own `--semi-space-growth-factor`. */
const V8_GROWTH_FACTOR = 2;

/** The heap `sluice <argv>` should start with. */
export function heapPlan(argv: readonly string[]): HeapPlan {
  const [command, file] = argv;
  if (command !== 'run' || !file || !/\.ya?ml$/i.test(file)) return {};
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return {};
  }
  if (/^(transforms|checks)\s*:/m.test(text)) return {};
  return { growingPercent: 25, holdYoung: true };
}

let held = false;
let factor = V8_GROWTH_FACTOR;

function growBy(f: number): void {
  if (f === factor) return;
  setFlagsFromString(`--semi-space-growth-factor=${f}`);
  factor = f;
}

export function tuneHeap(argv: readonly string[]): void {
  const plan = heapPlan(argv);
  if (plan.growingPercent !== undefined) setFlagsFromString(`--heap-growing-percent=${plan.growingPercent}`);
  if (plan.holdYoung) {
    growBy(1);
    held = true;
  }
}

/**
 * Once the pipeline is loaded: cap a held young generation at `semiSpaceMb` per semi-space, or, undefined, let it
 * grow as V8 would. A no-op when nothing was held (another command, a pipeline with steps, the library API).
 *
 * Node fixes the young generation's maximum at start (`--max-semi-space-size`), but V8 reads its growth factor at
 * every growth: growth stays held (factor 1) and is let through one doubling at a time while the generation is
 * below the cap, as seen after each collection.
 */
export function settleYoungGeneration(semiSpaceMb: number | undefined): void {
  if (!held) return;
  held = false;
  if (semiSpaceMb === undefined) {
    growBy(V8_GROWTH_FACTOR);
    return;
  }
  // The new space's size counts both semi-spaces.
  const cap = 2 * semiSpaceMb * 1024 * 1024;
  const grow = (): void => {
    const size = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? cap;
    growBy(size < cap ? V8_GROWTH_FACTOR : 1);
  };
  grow();
  new PerformanceObserver(grow).observe({ entryTypes: ['gc'] });
}
