// The `redis` destination: golden records published where applications read them, one key per row. Options, docs,
// capabilities and construction in one place; the implementation is imported only by a run that writes to Redis.
import { z } from 'zod';
import type { DestinationCapabilities, DestinationSpec } from '../../core/connector.js';
import { duration } from '../../core/duration.js';
import { type ColumnType, typeName } from '../../core/types.js';
import { CSV_TYPES, NDJSON_TYPES } from '../files/files-spec.js';

export const REDIS_FORMATS = ['hash', 'json'] as const;
export type RedisFormat = (typeof REDIS_FORMATS)[number];

/** The JSON format keeps CSV's text for bigints: a JSON number past 2^53 would be rounded by JSON.parse in every JS reader. */
const JSON_TYPES = { ...NDJSON_TYPES, bigint: 'string (all digits)' };

export const redisConfig = z.strictObject({
  url: z.string().min(1).optional()
    .describe('Server URL, `redis://[user:password@]host:6379/db` (`rediss://` for TLS). Its password is never logged. Instead of `url`, give `host`, `port`, `db`, `username` and `password`.'),
  host: z.string().min(1).optional().describe('Server host name or address (default `127.0.0.1`), when there is no `url`.'),
  port: z.number().int().min(1).max(65535).optional().describe('Server port (default 6379), when there is no `url`.'),
  db: z.number().int().min(0).optional().describe('Database number (default 0), when there is no `url`.'),
  username: z.string().min(1).optional().describe('ACL user name (Redis 6+), when there is no `url`.'),
  password: z.string().optional().describe('Password; never logged, never stored in state or errors. Prefer `${ENV_VAR}`.'),
  tls: z.boolean().optional().describe('Connect over TLS, verified against the system CAs (as a `rediss://` URL does).'),
  key_prefix: z.string().optional()
    .describe('Prefix of every key written (default: the pipeline name and `:`). A row is `<key_prefix><table>:<primary key values joined by :>`; in the table name and in each key value `%` is written `%25` and `:` `%3A`, so a `:` in a value never makes two rows one key. Sluice\'s own keys start `<key_prefix>:_sluice_` (the stream state: `<key_prefix>:_sluice_state:<pipeline>:<stream>`), which no row key can.'),
  format: z.enum(REDIS_FORMATS).default('hash')
    .describe('`hash`: one Redis hash per row, a field per column holding the value as text; NULL columns are absent fields. `json`: one string key per row holding the row as a JSON object (NULL as null, json columns embedded, bigints and decimals as strings so JS readers keep every digit).'),
  ttl: duration('Keys expire this long after their last write (`1h`, `7d`); every write renews it. The state key never expires, so an incremental stream does not write again rows that expired: use it with `write: replace` or sources read in full. Default: keys never expire.').optional(),
});
export type RedisConfig = z.output<typeof redisConfig>;

export function redisCapabilities(format: RedisFormat): DestinationCapabilities {
  return {
    // scd2 keeps versions of a row in a table; a key holds one value. append stores one row per key, as merge does.
    dispositions: ['append', 'replace', 'merge'],
    // A checkpoint's rows and the stream's state are one MULTI/EXEC (redis-load.ts): all applied or none. How durable
    // an EXEC is depends on the server's persistence (appendonly, fsync policy).
    transactional: true,
    keyed: true,
    // Hash fields and JSON keys are exact strings; keys have no practical length limit, 1024 keeps them readable.
    identifiers: { caseSensitive: true, maxLength: 1024 },
    types: (type: ColumnType) => typeName(format === 'json' ? JSON_TYPES : CSV_TYPES, type, (e) => `JSON array of ${e}`),
    // Redis strings are binary-safe: a NUL, any text, NaN and ±Infinity as text are stored as they are.
  };
}

export const redisDestinationSpec: DestinationSpec<RedisConfig> = {
  kind: 'destination',
  type: 'redis',
  status: 'experimental',
  description: 'Redis (a single server or primary, not Cluster) as a lookup store: one hash or JSON string per row, keyed '
    + 'by the primary key. A checkpoint\'s rows and the stream state commit in one MULTI/EXEC; merge and append replace '
    + 'each row whole (a `delete_column` deletes its key); replace writes the new rows under staging keys and, at the end, '
    + 'deletes the rows the source no longer has and renames the new ones into place, so readers never see an empty table. '
    + 'Every stream needs a `primary_key`.',
  config: redisConfig,
  capabilities: (config) => redisCapabilities(config.format ?? 'hash'),
  create: async (config) => new (await import('./redis-destination.js')).RedisDestination(config),
};
