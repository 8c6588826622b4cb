// V8's heap for `sluice run`, chosen before anything else is loaded so that the heap is shaped by it from the start.
// The pipeline file is only glanced at here (its top-level keys and its sources' types); a file this misjudges runs
// correctly either way, only with V8's defaults.
//
// - Old generation: a pipeline without transforms or checks holds nothing from one batch to the next, so what reaches
//   the old generation is batches already loaded. Collecting it once it has grown by a quarter, not V8's default of
//   up to 4×, lowers a database copy's peak by about 10 MB at a cost too small to measure. Steps that keep state
//   (dedupe, lookups, unique checks) hold a large live set, which frequent full collections would cost time and, set
//   even for the start of such a run, memory: those runs keep V8's default.
// - Young generation: V8 doubles it, up to 2 × 16 MB, each time as much has survived collections as it holds. A
//   database source hands over one page at a time and nothing of it outlives the page's load, so such a copy runs as
//   fast in less. Measured on 1M rows into PostgreSQL: from MariaDB, 2 × 4 MB took 25 MB off the peak for ~4% more
//   CPU; from PostgreSQL (whose driver parses the next page while one loads) 2 × 4 MB cost 10% more CPU and 2 × 8 MB
//   nothing, for 16 MB less. A file parser keeps its read-ahead text alive through the rows sliced from it: capped, a
//   CSV load ran twice as long. So only copies whose every source is a database are capped, at the largest cap
//   among their sources.
import { readFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { parseAndKeep } from '../config/yaml-document.js';

export interface HeapPlan {
  /** V8's `--heap-growing-percent` (old generation); undefined: V8's default. */
  growingPercent?: number;
  /** The most each young-generation semi-space may grow to, in MB; undefined: V8's default (16). */
  semiSpaceMb?: number;
}

/** Source types that read in pages, each released once loaded, and the semi-space each needs (see the header). */
const PAGED_SOURCES: Readonly<Record<string, number>> = { mysql: 4, postgres: 8, sqlite: 8 };

/** The heap `sluice <argv>` should run with. */
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
  const semiSpaceMb = pagedSemiSpace(text);
  return { growingPercent: 25, ...(semiSpaceMb !== undefined ? { semiSpaceMb } : {}) };
}

/** The semi-space a copy from these sources needs, if every one of them reads in pages. */
function pagedSemiSpace(text: string): number | undefined {
  let sources: unknown;
  try {
    // Kept for the loader, which would otherwise parse the same text again.
    const { doc } = parseAndKeep(text);
    if (doc.errors.length > 0) return undefined;
    sources = (doc.toJS({ maxAliasCount: 1000 }) as { sources?: unknown } | null)?.sources;
  } catch {
    return undefined;
  }
  if (!Array.isArray(sources) || sources.length === 0) return undefined;
  let most = 0;
  for (const source of sources) {
    const type = (source as { type?: unknown } | null)?.type;
    if (typeof type !== 'string' || !Object.hasOwn(PAGED_SOURCES, type)) return undefined;
    most = Math.max(most, PAGED_SOURCES[type]);
  }
  return most;
}

export function tuneHeap(argv: readonly string[]): void {
  const plan = heapPlan(argv);
  if (plan.growingPercent !== undefined) setFlagsFromString(`--heap-growing-percent=${plan.growingPercent}`);
  if (plan.semiSpaceMb !== undefined) capYoungGeneration(plan.semiSpaceMb);
}

/**
 * Node fixes the young generation's maximum at start (`--max-semi-space-size`), but V8 reads its growth factor at
 * every growth: growth is held (factor 1) and let through one doubling at a time while the generation is below the
 * cap, as seen after each collection.
 */
function capYoungGeneration(semiSpaceMb: number): void {
  // The new space's size counts both semi-spaces.
  const cap = 2 * semiSpaceMb * 1024 * 1024;
  let factor = 0;
  const growBy = (f: number): void => {
    if (f === factor) return;
    setFlagsFromString(`--semi-space-growth-factor=${f}`);
    factor = f;
  };
  growBy(1);
  new PerformanceObserver(() => {
    const size = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? cap;
    growBy(size < cap ? 2 : 1);
  }).observe({ entryTypes: ['gc'] });
}
