// Time spent in each phase of one stream. Batches flow through the phases in a pipeline, so a phase's duration is
// the sum of the time its work took, not wall-clock from its first to its last batch; that span is kept too (the
// dashboard draws it as the phase's bar on the run's timeline).
import type { Phase, Status } from '../core/types.js';
import { PHASES } from '../core/types.js';

interface Spent {
  ms: number;
  /** Wall-clock ms of the first start and the last end. */
  first: number;
  last: number;
}

export class PhaseClock {
  private readonly spent = new Map<Phase, Spent>();

  /** `ms` of work in `phase` that ended now. */
  add(phase: Phase, ms: number): void {
    const end = Date.now();
    const s = this.spent.get(phase);
    if (s) {
      s.ms += ms;
      s.last = end;
    } else {
      this.spent.set(phase, { ms, first: end - ms, last: end });
    }
  }

  async time<T>(phase: Phase, work: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      this.add(phase, performance.now() - t0);
    }
  }

  /** Every phase, in order: phases after a failed one are `skipped`. */
  summary(failedAt?: Phase): { phase: Phase; status: Status; duration_ms: number; started_at?: Date; ended_at?: Date }[] {
    const failedIndex = failedAt ? PHASES.indexOf(failedAt) : PHASES.length;
    return PHASES.map((phase, i) => {
      const s = this.spent.get(phase);
      return {
        phase,
        status: i < failedIndex ? 'success' : i === failedIndex ? 'failed' : 'skipped',
        duration_ms: Math.round(s?.ms ?? 0),
        ...(s ? { started_at: new Date(Math.round(s.first)), ended_at: new Date(s.last) } : {}),
      };
    });
  }
}
