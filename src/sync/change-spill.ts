// The changes a sync will write into one side, kept on disk while both sides are still being read (a side is not
// written while it is scanned, and memory holds a page, not the changes). One JSON line per change (./row-json.ts),
// sealed with the at-rest key when one is set (core/at-rest.ts): the rows are as personal here as in the change log.
import { createReadStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { seal, unseal } from '../core/at-rest.js';
import { fromJson, hexBytes, toJson } from './row-json.js';

/** `expect`: the hash of the target's row the change was decided on (null: none there); written only if it still is. */
export type Change = ({ op: 'upsert'; row: unknown[] } | { op: 'remove'; key: unknown[] }) & { expect?: number | null };

const FLUSH_AT = 1 << 20;


export class ChangeSpill {
  private readonly path = join(tmpdir(), `sluice-sync-${randomUUID()}.ndjson`);
  private fh?: FileHandle;
  private text = '';
  count = 0;

  async add(change: Change): Promise<void> {
    const c = change.op === 'upsert' ? { ...change, row: hexBytes(change.row) } : change;
    this.text += `${seal(toJson(c))}\n`;
    this.count++;
    if (this.text.length >= FLUSH_AT) await this.flush();
  }

  async *changes(): AsyncIterable<Change> {
    await this.flush();
    if (!this.fh) return;
    const lines = createInterface({ input: createReadStream(this.path, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) if (line) yield fromJson<Change>(unseal(line));
  }

  async close(): Promise<void> {
    await this.fh?.close();
    await rm(this.path, { force: true });
  }

  private async flush(): Promise<void> {
    if (!this.text) return;
    this.fh ??= await open(this.path, 'w');
    await this.fh.write(this.text);
    this.text = '';
  }
}
