// Connections to Redis. The password (a key, or inside the URL) is registered as a secret when the destination is
// built, and every error that leaves this folder goes through redisError(), which redacts.
//
// A connection never reconnects and never queues commands while down: a load's transaction lives on its connection
// (MULTI … EXEC), and a client that reconnected in the middle would send the rest of the checkpoint outside it. A
// dropped connection fails the load instead; the server discards the unfinished MULTI, so nothing of it is applied.
import { Redis, type RedisOptions } from 'ioredis';
import { RunError, errorMessage } from '../../core/errors.js';
import { redact } from '../../core/redact.js';
import { registerPasswords } from '../sql/connection-url.js';
import type { RedisConfig } from './redis-spec.js';

const CONNECT_TIMEOUT_MS = 10_000;

/** Register the password key and the URL's password, so that no log line or error shows them. */
export const registerRedisSecrets = (c: Partial<RedisConfig>): void => registerPasswords(c);

/** Where the destination connects, for messages: the URL with its password masked, or host:port/db. */
export function describeServer(c: Partial<RedisConfig>): string {
  return c.url ? redact(c.url) : `${c.tls ? 'rediss' : 'redis'}://${c.host ?? '127.0.0.1'}:${c.port ?? 6379}/${c.db ?? 0}`;
}

function options(c: Partial<RedisConfig>): RedisOptions {
  return {
    lazyConnect: true,
    connectTimeout: CONNECT_TIMEOUT_MS,
    retryStrategy: () => null,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    ...(c.url ? {} : {
      host: c.host ?? '127.0.0.1', port: c.port ?? 6379, db: c.db ?? 0,
      ...(c.username ? { username: c.username } : {}),
      ...(c.password ? { password: c.password } : {}),
    }),
    ...(c.tls ? { tls: {} } : {}),
  };
}

/** A connected client. Its failures reach the caller through the commands they fail, never as an unhandled event. */
export async function openRedis(c: Partial<RedisConfig>): Promise<Redis> {
  const client = c.url ? new Redis(c.url, options(c)) : new Redis(options(c));
  // ioredis reports why a connection failed only as an event; connect() rejects with "Connection is closed".
  let cause: unknown;
  client.on('error', (e: unknown) => {
    cause = e;
  });
  try {
    await client.connect();
    return client;
  } catch (e) {
    client.disconnect();
    throw redisError(`cannot connect to Redis at ${describeServer(c)}`, cause ?? e);
  }
}

/** A RunError saying what failed, with the server's (or the socket's) reason, passwords masked. */
export function redisError(what: string, e: unknown, stream?: string): RunError {
  if (e instanceof RunError) return e;
  return new RunError(redact(`${what}: ${errorMessage(e)}`), stream, { cause: e });
}

/** Run `fn`, turning its failure into redisError(what). */
export async function attempt<T>(what: string, fn: () => Promise<T>, stream?: string): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw redisError(what, e, stream);
  }
}

/** End a connection without waiting for the server (a load that failed, or the destination's close). */
export function closeQuietly(client: Redis | undefined): void {
  try {
    client?.disconnect();
  } catch {
    // Already closed.
  }
}
