// V8's young generation for `sluice run`, held before anything else is loaded so that the heap is shaped by it from the
// start. The pipeline file is only looked for here; one the CLI cannot load runs with V8's defaults.
//
// V8 doubles the young generation, up to 2 × 16 MB, each time as much has survived collections as it holds. A source
// that hands over one page at a time, nothing of which outlives the page's load, runs as fast in less: its spec says
// how much (`SourceSpec.youngGenerationMb`). Which sources a run has is known only once the CLI has loaded the
// pipeline, so the young generation is held at its starting size until then (`settleYoungGeneration`), and then
// capped at the largest size its sources ask for, or let grow as V8 would when any source asks for none (a file parser
// keeps its read-ahead text alive through the rows sliced from it: capped, a CSV load ran twice as long). Pipelines
// with transforms or checks grow to STEPS_SEMI_SPACE_MB: their steps keep state (dedupe, lookups, unique checks).
//
// Measured (issue 14, 1M rows MariaDB → PostgreSQL, 4–5 interleaved runs each): on Node 20, peak RSS 90 MB with the
// cap, 112–118 MB without it, time within noise; on Node 24, 99 MB against 153 MB, for about 9% more time. Collecting
// the old generation early (`--heap-growing-percent=25`, which this module also did before) changed neither figure and
// was dropped. A CSV → PostgreSQL load is the same either way. Node 24's V8 also sizes the young generation by page as
// it allocates, so there it is held near, not exactly at, its starting size and cap.
import { existsSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** V8's own `--semi-space-growth-factor`. */
const V8_GROWTH_FACTOR = 2;

/**
 * The young generation of a pipeline with transforms or checks, per semi-space: the most Node 20's and 22's V8 grows
 * it to. Node 24's grows it further, and what survives it then is larger batches' worth: `resolve` over 1M records
 * peaked about 70 MB higher on Node 24 than on Node 20 (575 against 505 MB in one setting), and level with it held
 * to this, in the same time.
 */
export const STEPS_SEMI_SPACE_MB = 16;

/** Whether `sluice <argv>` holds its young generation until the pipeline's sources are known. */
export function holdsYoungGeneration(argv: readonly string[]): boolean {
  const [command, file] = argv;
  // A service lives for days with mostly small runs: its young generation is capped once it is up (cli/serve.ts).
  if (command === 'serve') return true;
  // A sync streams changes a page at a time for as long as it runs: capped once its file is read (cli/sync.ts).
  if (command === 'sync') return true;
  if (command !== 'run' || !file || !/\.ya?ml$/i.test(file)) return false;
  return existsSync(file);
}

let held = false;
let factor = V8_GROWTH_FACTOR;

function growBy(f: number): void {
  if (f === factor) return;
  setFlagsFromString(`--semi-space-growth-factor=${f}`);
  factor = f;
}

export function tuneHeap(argv: readonly string[]): void {
  if (!holdsYoungGeneration(argv)) return;
  growBy(1);
  held = true;
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
