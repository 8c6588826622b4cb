// A stream's side of the change log (../change-log.ts): each change read gets an entry, decided when its statement is
// written and named by its source commit and its place in it once that commit is read. Entries reach the log just
// before the target transaction holding them commits — named so, a change read again after a crash replaces its
// entry. A source transaction too large to hold (an UPDATE of millions of rows) is written as it goes, under a
// temporary name that becomes its commit's position when that is read; names left by a crash are dropped at start.
import type { ChangeLog, LoggedChange } from '../change-log.js';

/**
 * Entries held before they are written: past WRITE, those of source commits already read are written (before their
 * target transaction commits, as they would be anyway); past HOLD, a source transaction's are written as it goes.
 */
const WRITE = 2_000;
const HOLD = 10_000;

export interface LogEntry { change: LoggedChange; source: unknown[]; position?: string; idx: number }

export class StreamLog {
  private held: LogEntry[] = [];
  /** The place of the next change in its source commit. */
  private idx = 0;
  /** The temporary name of the source transaction being read, once some of its entries were written. */
  private spilled?: string;
  /** Source transactions written under a temporary name whose commit has been read since. */
  private named: { token: string; position: string }[] = [];
  private tokens = 0;
  /** Source commits written for the target transaction being built (forgotten if it fails). */
  private unsettled: string[] = [];

  constructor(private readonly log: ChangeLog, private readonly stream: string, private readonly run: string) {
    log.dropTemporary(stream);
  }

  add(change: LoggedChange, source: unknown[]): LogEntry {
    const e: LogEntry = { change, source, idx: this.idx++ };
    this.held.push(e);
    return e;
  }

  /** The source transaction read so far committed at `position`. */
  sourceCommit(position: string): void {
    for (let i = this.held.length - 1; i >= 0 && this.held[i].position === undefined; i--) this.held[i].position = position;
    if (this.spilled) this.named.push({ token: this.spilled, position });
    this.spilled = undefined;
    this.idx = 0;
  }

  /** Called while every held entry is decided: writes them once there are too many to hold. */
  relieve(): void {
    if (this.held.length >= WRITE) this.write(this.held.length >= HOLD);
  }

  /** Before the target commits: everything of the source commits it holds. Returns their positions (to forget on failure). */
  beforeCommit(): string[] {
    this.write(false);
    const written = this.unsettled;
    this.unsettled = [];
    return written;
  }

  /** The target transaction failed: its entries go (best effort; reading them again replaces them anyway). */
  failed(positions: string[]): void {
    this.log.forget(this.stream, [...positions, ...(this.spilled ? [this.spilled] : [])]);
  }

  private write(spill: boolean): void {
    const ready = this.held.filter((e) => e.position !== undefined) as Required<LogEntry>[];
    const open = this.held.filter((e) => e.position === undefined);
    this.unsettled.push(...this.named.map((n) => n.position), ...new Set(ready.map((e) => e.position)));
    // Renamed first: the rest of a spilled transaction is written under its position after.
    for (const n of this.named) this.log.rename(this.stream, n.token, n.position);
    this.named = [];
    this.log.appendFrom(this.stream, ready);
    if (spill && open.length) {
      this.spilled ??= `~${this.run}:${++this.tokens}`;
      const token = this.spilled;
      this.log.appendFrom(this.stream, open.map((e) => ({ ...e, position: token })));
      this.held = [];
    } else this.held = open;
  }
}
