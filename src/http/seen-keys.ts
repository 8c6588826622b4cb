// Dedupe of records repeated across pages within one run (offset pagination over a non-unique sort order repeats
// rows: the OpenParliament bill pages repeat 497 of 5,266 bills). Memory is bounded by the number of distinct keys,
// never by record size: a key of up to 40 characters is kept as is, a longer one as its SHA-1 digest (28 base64 characters).
import { createHash } from 'node:crypto';
import { ownValue } from '../core/record.js';

export class SeenKeys {
  private readonly seen = new Set<string>();
  duplicates = 0;
  /** Records without the key (a key made later by a transform cannot dedupe here). */
  unkeyed = 0;

  constructor(private readonly key: readonly string[]) {}

  /** True the first time a record's key is seen. A record missing a key column is always let through (the engine rejects it). */
  first(record: Record<string, unknown>): boolean {
    const parts = this.key.map((k) => ownValue(record, k));
    if (parts.some((p) => p === undefined || p === null)) {
      this.unkeyed++;
      return true;
    }
    let id = parts.length === 1 && typeof parts[0] !== 'object' ? String(parts[0]) : JSON.stringify(parts);
    if (id.length > 40) id = createHash('sha1').update(id).digest('base64');
    if (this.seen.has(id)) {
      this.duplicates++;
      return false;
    }
    this.seen.add(id);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}
