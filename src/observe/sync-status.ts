// What `sluice serve` knows of each stream of a mode: cdc sync it runs: its state, its progress and its lag as last
// sampled. The service (src/orchestrate/sync-streams.ts) keeps it; /metrics and the alert rules read it.

/** How far a stream's source has written past what it applied (src/sync/cdc/lag.ts samples it). */
export interface SourceLag {
  /** Bytes of the source's log written after the position the stream has applied (and confirmed). */
  lagBytes: number;
  /** PostgreSQL: bytes of WAL the server keeps for the slot (from its restart position). */
  retainedBytes?: number;
  /** PostgreSQL: the slot's wal_status — reserved, extended, unreserved (at risk) or lost. */
  walStatus?: string;
  /** PostgreSQL: bytes that may still be written before the slot is at risk of losing WAL; absent when unlimited. */
  safeWalSize?: number;
}

export interface SyncStreamView {
  sync: string;
  /** `a_to_b` or `b_to_a`: the side it reads and the side it writes. */
  stream: string;
  /** starting: opening (or copying its snapshot); restarting: failed, waiting to start again; stopped: not run (a setting to fix). */
  state: 'starting' | 'streaming' | 'restarting' | 'stopped';
  /** Why it last failed (while restarting or stopped). */
  error?: string;
  /** When the source committed the last transaction applied. */
  lastCommitAt?: Date;
  /** Source commit to target commit, for the last transaction applied; 0 once the stream has caught up. */
  lagSeconds?: number;
  /** The source's lag as last sampled, and when. */
  lag?: SourceLag & { at: Date };
}

/** A stream's label: the side it reads, then the side it writes. */
export const streamLabel = (from: 'a' | 'b'): string => (from === 'a' ? 'a_to_b' : 'b_to_a');
