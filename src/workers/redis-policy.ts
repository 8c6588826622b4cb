// A queue whose Redis may evict keys loses jobs and locks under memory pressure, silently: BullMQ's own advice is
// `maxmemory-policy noeviction`. Checked before a run dispatches or a worker takes anything.
import { Redis } from 'ioredis';
import { ConfigError, errorMessage } from '../core/errors.js';
import { requireSharedStore, shownUrl } from './queue.js';

/** What a run dispatching to workers, a worker and `serve --workers` all need: the shared store and a safe Redis. */
export async function checkWorkerSetup(redisUrl: string): Promise<void> {
  requireSharedStore();
  await checkQueueRedis(redisUrl);
}

export async function checkQueueRedis(url: string): Promise<void> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  try {
    try {
      await redis.connect();
    } catch (e) {
      throw new ConfigError(`cannot reach the task queue's Redis at ${shownUrl(url)}: ${errorMessage(e)}`);
    }
    const policy = await evictionPolicy(redis);
    if (policy !== 'noeviction') {
      throw new ConfigError(`the task queue's Redis at ${shownUrl(url)} has maxmemory-policy ${policy}: it may evict queued tasks and their locks; set \`maxmemory-policy noeviction\``, {
        expected: 'maxmemory-policy noeviction',
      });
    }
  } finally {
    redis.disconnect();
  }
}

/** CONFIG GET where it is allowed (managed services often disable CONFIG); INFO memory says it too. */
async function evictionPolicy(redis: Redis): Promise<string> {
  try {
    const [, value] = await redis.config('GET', 'maxmemory-policy') as string[];
    if (value) return value;
  } catch {
    // fall through to INFO
  }
  const info = await redis.info('memory');
  return /^maxmemory_policy:(\S+)/m.exec(info)?.[1] ?? 'unknown';
}
