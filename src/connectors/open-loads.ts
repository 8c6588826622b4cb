// The stream loads a destination has begun and not yet finished, so `close()` can abort what a failed run left
// open. Every destination keeps one.
import type { StreamLoad } from '../core/connector.js';

export interface StartableLoad extends StreamLoad {
  /** Open the transaction, create staging: whatever must happen before the first write. */
  start(): Promise<void> | void;
}

export class OpenLoads<L extends StartableLoad> {
  private readonly open = new Set<L>();

  /** Build a load (handing it the callback that forgets it once it ends), start it, and abort it if starting fails. */
  async begin(make: (onDone: () => void) => L): Promise<L> {
    const load: L = make(() => this.open.delete(load));
    this.open.add(load);
    try {
      await load.start();
    } catch (e) {
      await load.abort();
      throw e;
    }
    return load;
  }

  /** Loads begun and not yet ended. */
  get size(): number {
    return this.open.size;
  }

  async abortAll(): Promise<void> {
    for (const load of [...this.open]) await load.abort();
  }
}
