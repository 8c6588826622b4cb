// SCAN, page by page: memory holds one page of keys whatever the size of the keyspace. SCAN walks the whole database
// and filters by pattern on the server, so its cost grows with the database, not with the table; a key may come twice
// while the server resizes its hash table (never missed), which every caller here tolerates.
import type { Redis } from 'ioredis';

/** Keys per SCAN call (a hint to the server), and so per page. */
export const SCAN_COUNT = 1000;

export async function* scanPages(conn: Redis, pattern: string): AsyncIterable<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await conn.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

/** Delete every key matching `pattern`, a page at a time; how many went. UNLINK frees their memory off the main thread. */
export async function unlinkMatching(conn: Redis, pattern: string): Promise<number> {
  let n = 0;
  for await (const keys of scanPages(conn, pattern)) n += await conn.unlink(...keys);
  return n;
}
