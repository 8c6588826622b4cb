// The `websocket` source: options, docs and construction in one place.
import { z } from 'zod';
import type { SourceSpec } from '../../core/connector.js';
import { authSchema } from '../../http/http-options.js';

const template = (what: string) => z.union([z.string(), z.record(z.string(), z.unknown()), z.array(z.unknown())])
  .describe(`${what} A string is sent as written; an object or list is sent as JSON. \`{{offset}}\` stands for the `
    + 'resume offset: inside a string it is replaced by the offset\'s text (empty when there is none yet); an object '
    + 'value that is exactly `"{{offset}}"` becomes the offset itself (a number stays a number, none is `null`).');

const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);

export const websocketSourceConfig = z.strictObject({
  url: z.string().regex(/^wss?:\/\/[^\s]+$/i, 'a ws:// or wss:// URL')
    .describe('WebSocket endpoint, `ws://` or `wss://`. Each stream opens its own connection to it.'),
  headers: z.record(z.string(), z.string()).default({})
    .describe('Headers sent with the opening handshake (e.g. `Origin`, a protocol version).'),
  auth: authSchema.optional(),
  connect_timeout_ms: z.int().min(1).default(10000).describe('Time limit of the opening handshake.'),
  heartbeat: z.strictObject({
    interval_ms: z.int().min(0).default(15000).describe('Send a heartbeat this often; 0 disables it.'),
    timeout_ms: z.int().min(1).default(10000)
      .describe('A connection from which nothing (pong, ping or message) arrives this long after a heartbeat is dead: it is dropped and reconnected.'),
    message: template('An application-level ping sent as a message instead of a protocol ping frame (for servers that expect '
      + 'e.g. `{"op":"ping"}`); any message the server sends counts as the answer. Use `filter` to keep its pongs out of the records.')
      .optional(),
  }).default({ interval_ms: 15000, timeout_ms: 10000 })
    .describe('Liveness check (`interval_ms`, `timeout_ms`, optional application-level `message`): a half-open TCP connection '
      + 'otherwise looks alive forever. Not judged while the source itself holds the socket paused (backpressure).'),
  reconnect: z.strictObject({
    initial_ms: z.int().min(0).default(500).describe('Backoff cap of the first reconnect; it doubles per failed attempt (full jitter: the wait is random between 0 and the cap).'),
    max_ms: z.int().min(0).default(30000).describe('Largest backoff cap.'),
    attempts: z.int().min(1).default(10)
      .describe('Consecutive failed connections (refused, dropped before any message) after which the run fails.'),
  }).default({ initial_ms: 500, max_ms: 30000, attempts: 10 })
    .describe('Reconnecting after a dropped socket (`initial_ms`, `max_ms`, `attempts`): exponential backoff with full '
      + 'jitter, then a new subscribe from the last offset received.'),
});

export type WebsocketSourceConfig = z.output<typeof websocketSourceConfig> & { streams?: unknown[] };

export const websocketStreamKeys = {
  subscribe: template('Message sent after each (re)connection, e.g. `{"op":"subscribe","channel":"trades","from":"{{offset}}"}`.')
    .optional(),
  records: z.string().min(1).optional()
    .describe('Dot path of the records inside a message (`data`, `payload.items`): an array of records or a single one. '
      + 'Default: the message itself. A message without it (an acknowledgement, a status) carries nothing.'),
  filter: z.record(z.string().min(1), z.union([scalar, z.array(scalar).min(1)])).optional()
    .describe('Only messages where every dot path has the given value (or one of the listed values) carry records, e.g. '
      + '`{ type: trade }`; other messages are ignored (they are not records and count nowhere).'),
  offset: z.string().min(1).optional()
    .describe('Dot path of an ordered offset in each record (a sequence number or sortable string). The last one is kept '
      + 'in state: the subscribe of a reconnect or a later run resumes after it, and records at or below it that the '
      + 'server sends again are dropped.'),
  start_offset: z.union([z.string(), z.int()]).optional()
    .describe('Offset used in the subscribe while the state holds none (a first run or a full refresh).'),
  max_batch_ms: z.int().min(1).default(1000)
    .describe('Longest a record waits before its micro-batch is committed; batches also commit at `batch_size` records.'),
  max_records: z.int().min(1).optional()
    .describe('End the run after this many records (a backfill or a test); by default the stream runs until stopped.'),
  idle_timeout_ms: z.int().min(1).optional()
    .describe('End the run when no record arrives for this long; by default the stream runs until stopped.'),
};

const websocketStream = z.object(websocketStreamKeys);
export type WebsocketStreamOptions = z.output<typeof websocketStream>;

export const websocketSourceSpec: SourceSpec<WebsocketSourceConfig> = {
  kind: 'source',
  type: 'websocket',
  status: 'beta',
  description: 'A WebSocket feed: subscribe, receive JSON messages, commit micro-batches (by size or time) with the last '
    + 'offset, so a reconnect or a later run resumes without loss or duplicates. Heartbeats detect dead connections; '
    + 'dropped sockets reconnect with backoff. Runs until stopped (SIGINT/SIGTERM commit the batch in flight), or '
    + 'until `max_records` / `idle_timeout_ms`. A message that is not JSON goes to the dead-letter queue.',
  config: websocketSourceConfig,
  stream: websocketStream.strict(),
  create: async (config) => new (await import('./websocket-source.js')).WebsocketSource(config),
};
