// A full garbage collection on demand, for the one moment it pays: a blocking step has just dropped what it held
// through its stream (resolve's match table of a million records) and is about to emit as many rows again. V8 only
// collects its old generation once that has grown by a factor of what was live at the last collection, and the rows
// emitted meanwhile (kept alive through a load's write, so promoted) grew it from 270 MB to 390 MB of mostly garbage
// before it did: at 1M records that was the run's peak RSS. Collected at the boundary, the emit phase starts from
// what is really live.
//
// V8 exposes `gc()` only to contexts created after `--expose-gc` is set; the flag is set here, at first use, and a
// fresh context hands the function over (the way Jest's --logHeapUsage does it). Costs one full collection (tens of
// milliseconds at these sizes) per call.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collect: (() => void) | undefined;

export function collectGarbage(): void {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as () => void;
  }
  collect();
}
