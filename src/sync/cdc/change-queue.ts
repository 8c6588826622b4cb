// What a change reader (one per engine: ./pg-changes.ts) hands the applier (./apply-changes.ts), and the bounded queue
// in between: the reader pushes as the server sends, the applier pulls; past HIGH events the reader's connection is
// paused (the server then waits, its log keeps the rest), and resumed below LOW.
import type { Side } from '../side.js';

export type CdcEvent =
  /**
   * A row written (`row`: the table's columns in the order given to the reader) or deleted (`row`: its key);
   * `old`: the whole row before the change, when the source logs it (what a two-way stream tells conflicts by);
   * `insert`: the source says the row is new (the change log tells inserts from updates by it).
   */
  | { kind: 'change'; table: string; op: 'upsert' | 'remove'; row: unknown[]; old?: unknown[]; insert?: true }
  /** The end of a source transaction: its changes and this position are one unit; `at`: when the source committed it. */
  | { kind: 'commit'; position: string; at?: Date }
  /** The server's position while no transaction is open: kept and acknowledged when nothing is pending. */
  | { kind: 'heartbeat'; position: string }
  /** Everything committed on the source before `catchUp()` was asked has been handed on. */
  | { kind: 'caught-up' };

export interface ReaderTable {
  /** The table's name in the sync file, on this side. */
  name: string;
  /** Its columns in the order the rows are handed on (key first), and how many are the key. */
  columns: string[];
  keyParts: number;
  /** Two-way: the whole row before each change is needed (REPLICA IDENTITY FULL). */
  before?: boolean;
}

export interface ReaderOptions {
  config: Record<string, unknown>;
  baseDir: string;
  sync: string;
  side: 'a' | 'b';
  tables: ReaderTable[];
  /** The position kept with the rows on the other side; undefined: none yet (a snapshot is taken). */
  from?: string;
  heartbeatMs: number;
}

/** Where a new stream starts: the side as it was there (read for the first copy), and that position. */
export interface Snapshot {
  at: string;
  side(): Side;
  /** Lets the snapshot go (after the copy). */
  close(): Promise<void>;
}

export interface ChangeReader {
  /** Streams from `from`: the position kept on the other side, or the snapshot's. */
  start(from: string): Promise<void>;
  next(): Promise<CdcEvent | undefined>;
  /** Whether an event is waiting (the applier batches while they are). */
  ready(): boolean;
  /** The changes up to `position` are committed on the other side: the source may let them go. */
  ack(position: string): void;
  catchUp(): Promise<void>;
  stop(): void;
  close(): Promise<void>;
}

// Enough to batch a busy stream's transactions; few enough that a backlog of millions stays in ~200 MB.
const HIGH = 4_000;
const LOW = 1_000;

export class ChangeQueue {
  private items: CdcEvent[] = [];
  private head = 0;
  private waiter?: (e: CdcEvent | undefined) => void;
  private ended = false;
  private error?: Error;
  private paused = false;

  constructor(private readonly pause: () => void, private readonly resume: () => void) {}

  push(e: CdcEvent): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w(e);
      return;
    }
    this.items.push(e);
    if (!this.paused && this.items.length - this.head > HIGH) {
      this.paused = true;
      this.pause();
    }
  }

  /** No more events: those queued are still handed on, then undefined (or `error` thrown). */
  end(error?: Error): void {
    if (this.ended) return;
    this.ended = true;
    this.error = error;
    if (this.waiter && this.head >= this.items.length) {
      const w = this.waiter;
      this.waiter = undefined;
      w(undefined);
    }
  }

  ready(): boolean {
    return this.head < this.items.length;
  }

  async next(): Promise<CdcEvent | undefined> {
    if (this.head < this.items.length) {
      const e = this.items[this.head++];
      if (this.head > 4096 && this.head * 2 > this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
      if (this.paused && this.items.length - this.head < LOW) {
        this.paused = false;
        this.resume();
      }
      return e;
    }
    if (this.ended) {
      if (this.error) throw this.error;
      return undefined;
    }
    const e = await new Promise<CdcEvent | undefined>((resolve) => { this.waiter = resolve; });
    if (e === undefined && this.error) throw this.error;
    return e;
  }
}

/**
 * What both readers share: the queue between the server's connection (paused and resumed through `pause`/`resume`)
 * and the applier, and a stop that waits for the end of the transaction being read.
 */
export abstract class QueuedReader {
  protected readonly queue = new ChangeQueue(() => this.pause(), () => this.resume());
  protected inTransaction = false;
  protected stopping = false;

  protected abstract pause(): void;
  protected abstract resume(): void;
  abstract close(): Promise<void>;

  next(): Promise<CdcEvent | undefined> {
    return this.queue.next();
  }

  ready(): boolean {
    return this.queue.ready();
  }

  /** Stops after the transaction being read (if any): the queue ends once it is handed on. */
  stop(): void {
    this.stopping = true;
    if (!this.inTransaction) this.queue.end();
  }

  /** `prepare`'s result, or the reader closed (its connections let go) when preparing fails. */
  protected async opened<T>(prepare: () => Promise<T>): Promise<T> {
    try {
      return await prepare();
    } catch (e) {
      await this.close();
      throw e;
    }
  }
}
