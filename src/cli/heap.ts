// V8's old generation for `sluice run`, chosen before anything else is loaded so that V8's first limit already
// follows it. A pipeline without transforms or checks holds nothing from one batch to the next: what reaches the old
// generation is batches already loaded. Collecting it once the generation has grown by a quarter, not V8's default
// of up to 4×, lowers a database copy's peak by about 10 MB at a cost too small to measure. Steps that keep state
// (dedupe, lookups, unique checks) hold a large live set, which frequent full collections would cost time and, set
// even for the start of such a run, memory: those runs keep V8's default. The pipeline file is only glanced at here
// (its top-level keys); a file this misjudges runs correctly either way.
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

/** The old generation's growth, in percent, that `sluice <argv>` should run with; undefined: V8's default. */
export function heapGrowingPercent(argv: readonly string[]): number | undefined {
  const [command, file] = argv;
  if (command !== 'run' || !file || !/\.ya?ml$/i.test(file)) return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return /^(transforms|checks)\s*:/m.test(text) ? undefined : 25;
}

export function tuneHeap(argv: readonly string[]): void {
  const percent = heapGrowingPercent(argv);
  if (percent !== undefined) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
