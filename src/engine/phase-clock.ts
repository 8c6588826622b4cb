// Time spent in each phase of one stream. Batches flow through the phases in a pipeline, so a phase's duration is
// the sum of the time its work took, not wall-clock from its first to its last batch.
import type { Phase, Status } from '../core/types.js';
import { PHASES } from '../core/types.js';

export class PhaseClock {
  private readonly spent = new Map<Phase, number>();

  add(phase: Phase, ms: number): void {
    this.spent.set(phase, (this.spent.get(phase) ?? 0) + ms);
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
  summary(failedAt?: Phase): { phase: Phase; status: Status; duration_ms: number }[] {
    const failedIndex = failedAt ? PHASES.indexOf(failedAt) : PHASES.length;
    return PHASES.map((phase, i) => ({
      phase,
      status: i < failedIndex ? 'success' : i === failedIndex ? 'failed' : 'skipped',
      duration_ms: Math.round(this.spent.get(phase) ?? 0),
    }));
  }
}
