// Loads whose rows must stay invisible until the end: `write: replace` (a full refresh), and any load whose dataset
// gates must pass first (`LoadTarget.staged`). Rows go to staging keys (`<prefix>:_sluice_stage:<table>:<run>:<key>`),
// pipelined, which no reader looks at; a gated merge's deletes go to a set. Nothing is held in this process but the
// batch in hand. publish(), at the finish:
//   1. replace: SCAN the table; DEL each key that has no staging key (the source no longer has that row). Readers
//      never see the table empty, only fewer rows, then (2) the new ones.
//   2. SCAN the staging keys; per page one MULTI of RENAME staging → row key (atomic per key: a reader sees the old row
//      or the new one, never none) and PEXPIRE to the `ttl` (or PERSIST).
//   3. gated merge: DEL the keys of the deletes set (SSCAN, a page at a time).
// The state then commits in its own transaction (redis-load.ts). The table is not swapped atomically as a whole: while
// publish() runs, readers see old and new rows side by side, as a cache refreshed in place does. A crash in between
// leaves that mix and no state; the next run starts again and deletes the staging keys left behind. Staging keys
// expire after STAGE_TTL_MS, in case no run ever comes back.
import type { Redis } from 'ioredis';
import type { CommitCounts, LoadTarget } from '../../core/connector.js';
import { attempt, redisError } from './redis-connection.js';
import { type RedisKeys, startsWith } from './redis-keys.js';
import { scanPages, unlinkMatching } from './redis-scan.js';
import type { RowEncoder } from './redis-values.js';

export const STAGE_TTL_MS = 7 * 86_400_000;

export class RedisStaging {
  private readonly stage: string;
  private readonly table: string;
  private readonly deletes: string;
  private readonly replace: boolean;

  constructor(private readonly conn: Redis, private readonly keys: RedisKeys, private readonly target: LoadTarget, private readonly ttlMs?: number) {
    this.stage = keys.stage(target.table, target.runId);
    this.table = keys.table(target.table);
    this.deletes = keys.deletes(target.table, target.runId);
    this.replace = target.disposition === 'replace';
  }

  /** Delete staging keys and deletes sets of the table: of one run, or (no run) left by any earlier one. */
  async clear(runId?: string): Promise<void> {
    await attempt(`stream ${this.target.stream}: deleting old staging keys failed`, async () => {
      await unlinkMatching(this.conn, startsWith(this.keys.stage(this.target.table, runId)));
      await unlinkMatching(this.conn, startsWith(this.keys.deletes(this.target.table, runId)));
    }, this.target.stream);
  }

  async write(rows: unknown[][], suffix: (row: unknown[]) => string, encoder: RowEncoder, marked: (row: unknown[]) => boolean): Promise<void> {
    const { conn } = this;
    const sent: Promise<unknown>[] = [];
    let deleted = false;
    for (const row of rows) {
      const s = suffix(row);
      const key = this.stage + s;
      // DEL first: a key written twice in a run keeps its last row, whole.
      sent.push(conn.del(key));
      if (marked(row)) {
        // A full refresh leaves the row out (step 1 deletes it); a gated merge deletes it at the finish.
        if (!this.replace) sent.push(conn.sadd(this.deletes, s));
        deleted = true;
        continue;
      }
      if (!this.replace) sent.push(conn.srem(this.deletes, s));
      if (encoder.isHash) {
        sent.push(conn.hset(key, ...encoder.fields(row)), conn.pexpire(key, STAGE_TTL_MS));
      } else {
        sent.push(conn.set(key, encoder.json(row), 'PX', STAGE_TTL_MS));
      }
    }
    if (deleted && !this.replace) sent.push(conn.pexpire(this.deletes, STAGE_TTL_MS));
    await attempt(`stream ${this.target.stream}: writing rows to Redis staging failed`, () => Promise.all(sent), this.target.stream);
  }

  /** Make the staged rows the table's (see the header); what changed. */
  async publish(): Promise<CommitCounts> {
    const counts: CommitCounts = { inserted: 0, updated: 0, deleted: 0 };
    await attempt(`stream ${this.target.stream}: publishing the staged rows failed`, async () => {
      if (this.replace) counts.deleted += await this.sweep();
      await this.moveIn(counts);
      if (!this.replace) counts.deleted += await this.applyDeletes();
    }, this.target.stream);
    return counts;
  }

  /** Queue, in the final transaction, the deletion of this run's deletes set. */
  async dropSets(multi: Redis): Promise<unknown> {
    return multi.del(this.deletes);
  }

  /** Step 1: delete the table's keys that this run did not stage. */
  private async sweep(): Promise<number> {
    let n = 0;
    for await (const keys of scanPages(this.conn, startsWith(this.table))) {
      const staged = await Promise.all(keys.map((k) => this.conn.exists(this.stage + k.slice(this.table.length))));
      const gone = keys.filter((_, i) => staged[i] === 0);
      if (gone.length > 0) n += await this.conn.unlink(...gone);
    }
    return n;
  }

  /** Step 2: rename each staging key into place, a page per transaction. */
  private async moveIn(counts: CommitCounts): Promise<void> {
    for await (const keys of scanPages(this.conn, startsWith(this.stage))) {
      const multi = this.conn.multi();
      for (const k of keys) {
        const final = this.table + k.slice(this.stage.length);
        multi.exists(final).rename(k, final);
        if (this.ttlMs === undefined) multi.persist(final);
        else multi.pexpire(final, this.ttlMs);
      }
      const replies = (await multi.exec()) ?? [];
      for (let i = 0; i < keys.length; i++) {
        const [existed, renamed] = [replies[i * 3], replies[i * 3 + 1]];
        // SCAN may give a key twice: the second RENAME finds it moved already.
        if (renamed[0]) {
          if (/no such key/i.test(renamed[0].message)) continue;
          throw redisError('RENAME failed', renamed[0], this.target.stream);
        }
        if (existed[1] === 1) counts.updated++;
        else counts.inserted++;
      }
    }
  }

  /** Step 3: delete the keys a gated merge marked deleted. */
  private async applyDeletes(): Promise<number> {
    let n = 0;
    let cursor = '0';
    do {
      const [next, members] = await this.conn.sscan(this.deletes, cursor, 'COUNT', 1000);
      cursor = next;
      if (members.length > 0) n += await this.conn.unlink(...members.map((m) => this.table + m));
    } while (cursor !== '0');
    return n;
  }
}
