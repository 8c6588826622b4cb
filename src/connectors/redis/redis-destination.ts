// Redis destination: one key per row (redis-keys.ts), a hash or a JSON string (redis-values.ts), each stream's state in
// a key of its own written in the rows' transaction (redis-load.ts). One connection for state and reads; each load
// opens its own, since a MULTI belongs to its connection.
import type { Redis } from 'ioredis';
import type { Destination, DestinationCapabilities, LoadTarget, RunContext, StreamLoad } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { silentLogger } from '../../core/logger.js';
import type { StreamState } from '../../core/types.js';
import { OpenLoads } from '../open-loads.js';
import { attempt, closeQuietly, openRedis, redisError, registerRedisSecrets } from './redis-connection.js';
import { RedisKeys, startsWith } from './redis-keys.js';
import { RedisStreamLoad } from './redis-load.js';
import { scanPages, unlinkMatching } from './redis-scan.js';
import { type RedisConfig, type RedisFormat, redisCapabilities } from './redis-spec.js';
import { readStateRecord } from './redis-state.js';

export class RedisDestination implements Destination {
  readonly type = 'redis';
  readonly capabilities: DestinationCapabilities;
  private readonly format: RedisFormat;
  private client: Redis | undefined;
  private keys: RedisKeys | undefined;
  private logger: Logger = silentLogger();
  private readonly loads = new OpenLoads<RedisStreamLoad>();

  constructor(private readonly config: Partial<RedisConfig>) {
    this.format = config.format ?? 'hash';
    this.capabilities = redisCapabilities(this.format);
    registerRedisSecrets(config);
  }

  async connect(ctx: RunContext): Promise<void> {
    if (this.client) return;
    this.logger = ctx.logger;
    this.keys = new RedisKeys(this.config.key_prefix ?? `${ctx.pipeline}:`);
    this.client = await openRedis(this.config);
  }

  async readState(pipeline: string, stream: string): Promise<StreamState | undefined> {
    const { client, keys } = this.connected();
    return attempt('reading the state from Redis failed', async () => readStateRecord(await client.get(keys.state(pipeline, stream)))?.state);
  }

  async resetState(pipeline: string, stream?: string): Promise<void> {
    const { client, keys } = this.connected();
    await attempt('resetting the state in Redis failed', async () => {
      if (stream === undefined) await unlinkMatching(client, startsWith(keys.statePrefix(pipeline)));
      else await client.del(keys.state(pipeline, stream));
    });
  }

  async begin(target: LoadTarget): Promise<StreamLoad> {
    const { client, keys } = this.connected();
    const conn = client.duplicate();
    await attempt('cannot open a Redis connection for the load', () => conn.connect());
    return this.loads.begin((onDone) => new RedisStreamLoad({
      conn, keys, target, format: this.format, ttlMs: this.config.ttl?.ms, logger: this.logger, onDone,
    }));
  }

  /**
   * A table's rows by SCAN over its keys, a page per batch. Hash fields come back as the text they hold (NULL columns
   * as null when asked for by name); JSON rows as parsed. A key that expires between SCAN and read is skipped.
   */
  async *readTable(table: string, columns: string[], limit?: number): AsyncIterable<Record<string, unknown>[]> {
    const { client, keys } = this.connected();
    let left = limit ?? Infinity;
    if (left <= 0) return;
    try {
      for await (const page of scanPages(client, startsWith(keys.table(table)))) {
        const wanted = page.slice(0, Math.min(page.length, left));
        const rows = (await Promise.all(wanted.map((k) => this.readRow(client, k))))
          .filter((r): r is Record<string, unknown> => r !== undefined)
          .map((r) => (columns.length === 0 ? r : Object.fromEntries(columns.map((c) => [c, r[c] ?? null]))));
        left -= rows.length;
        if (rows.length > 0) yield rows;
        if (left <= 0) return;
      }
    } catch (e) {
      throw redisError(`reading ${table} from Redis failed`, e);
    }
  }

  async close(): Promise<void> {
    await this.loads.abortAll();
    closeQuietly(this.client);
    this.client = undefined;
  }

  private async readRow(client: Redis, key: string): Promise<Record<string, unknown> | undefined> {
    if (this.format === 'json') {
      const text = await client.get(key);
      return text === null ? undefined : JSON.parse(text) as Record<string, unknown>;
    }
    const fields = await client.hgetall(key);
    return Object.keys(fields).length === 0 ? undefined : fields;
  }

  private connected(): { client: Redis; keys: RedisKeys } {
    if (!this.client || !this.keys) throw new RunError('the Redis destination is not connected');
    return { client: this.client, keys: this.keys };
  }
}
