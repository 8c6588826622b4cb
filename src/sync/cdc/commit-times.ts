// When the source committed each transaction a stream applies, for its lag: the reader says it with each commit
// event, and the applier (./apply-changes.ts) reports only the position it kept. This stands between the two and
// remembers the commit times of the positions read and not yet kept (a few: the applier batches while events wait).
import type { ChangeReader } from './change-queue.js';

export class CommitTimes {
  private readonly times = new Map<string, Date>();
  /** The reader as the applier reads it: the same reader, its commit times noted on the way. */
  readonly reader: ChangeReader;

  constructor(inner: ChangeReader) {
    this.reader = {
      start: (from) => inner.start(from),
      next: async () => {
        const e = await inner.next();
        if (e?.kind === 'commit' && e.at) this.times.set(e.position, e.at);
        return e;
      },
      ready: () => inner.ready(),
      ack: (position) => inner.ack(position),
      catchUp: () => inner.catchUp(),
      stop: () => inner.stop(),
      close: () => inner.close(),
    };
  }

  /** The commit time of the transaction kept at `position` (undefined for a heartbeat); earlier ones are let go. */
  take(position: string): Date | undefined {
    const at = this.times.get(position);
    // Kept in reading order: everything up to the position kept is done with.
    for (const k of this.times.keys()) {
      this.times.delete(k);
      if (k === position) break;
    }
    return at;
  }
}
