// A replication connection to PostgreSQL (`replication=database`): creates a logical slot with an exported snapshot,
// and streams a slot's changes (START_REPLICATION, the CopyBoth sub-protocol) through node-postgres. The stream is a
// query object node-postgres hands the server's CopyData to, as pg-copy-streams does for COPY; status updates go back
// as CopyData. Backpressure: the socket is paused while the consumer is behind.
import pg from 'pg';
import { decode, type PgMessage } from './pgoutput.js';

export interface SlotCreated {
  /** Where streaming starts: every transaction committed after it is streamed, none before it. */
  consistentPoint: string;
  /** The snapshot that sees exactly the transactions before the consistent point (valid while this connection is idle). */
  snapshot: string;
}

export interface StreamHandlers {
  /** A decoded message of the WAL record at `lsn`. */
  message(m: PgMessage, lsn: bigint): void;
  /** The server's keepalive: it has sent everything up to `walEnd`. */
  keepalive(walEnd: bigint): void;
  /** The stream ended (the server's error, or the connection's). */
  end(error?: Error): void;
}

/** Microseconds since 2000-01-01, PostgreSQL's clock in status updates. */
const pgClock = (): bigint => BigInt(Date.now() - 946_684_800_000) * 1000n;

/** node-postgres' query contract, as pg-copy-streams implements it: the server's messages during the query come here. */
class ReplicationQuery {
  constructor(private readonly sql: string, private readonly on: StreamHandlers) {}
  submit(connection: { query(sql: string): void }): void {
    connection.query(this.sql);
  }
  handleCopyData({ chunk }: { chunk: Buffer }): void {
    const kind = chunk[0];
    if (kind === 0x77 /* w: XLogData */) this.on.message(decode(chunk.subarray(25)), chunk.readBigUInt64BE(1));
    else if (kind === 0x6b /* k: keepalive */) this.on.keepalive(chunk.readBigUInt64BE(1));
  }
  handleError(e: Error): void {
    this.on.end(e);
  }
  handleReadyForQuery(): void {
    this.on.end();
  }
  handleCommandComplete(): void {}
  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleCopyInResponse(): void {}
  handleEmptyQuery(): void {}
}

export class ReplicationConnection {
  private constructor(private readonly client: pg.Client) {}

  static async open(config: pg.ClientConfig): Promise<ReplicationConnection> {
    // No statement timeout: a stream is one statement that lasts as long as the sync.
    const client = new pg.Client({ ...config, statement_timeout: undefined, replication: 'database' } as pg.ClientConfig);
    await client.connect();
    return new ReplicationConnection(client);
  }

  async createSlot(slot: string): Promise<SlotCreated> {
    const r = await this.client.query<{ consistent_point: string; snapshot_name: string }>(
      `CREATE_REPLICATION_SLOT ${quoteName(slot)} LOGICAL pgoutput EXPORT_SNAPSHOT`);
    return { consistentPoint: r.rows[0].consistent_point, snapshot: r.rows[0].snapshot_name };
  }

  /** Streams the slot's changes from `from` (an LSN); the handlers see every message until the stream ends. */
  start(slot: string, publication: string, from: string, on: StreamHandlers): void {
    const sql = `START_REPLICATION SLOT ${quoteName(slot)} LOGICAL ${from} (proto_version '1', publication_names '${quoteName(publication)}', messages 'true')`;
    void this.client.query(new ReplicationQuery(sql, on) as unknown as pg.QueryConfig);
  }

  /** Tells the server the changes up to `lsn` are applied (it may free their WAL); `reply`: answer with a keepalive. */
  status(lsn: bigint, reply = false): void {
    const b = Buffer.alloc(34);
    b[0] = 0x72; // r
    b.writeBigUInt64BE(lsn, 1);
    b.writeBigUInt64BE(lsn, 9);
    b.writeBigUInt64BE(lsn, 17);
    b.writeBigUInt64BE(pgClock(), 25);
    b[33] = reply ? 1 : 0;
    (this.client as unknown as { connection: { sendCopyFromChunk(b: Buffer): void } }).connection.sendCopyFromChunk(b);
  }

  pause(): void {
    this.socket().pause();
  }

  resume(): void {
    this.socket().resume();
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  private socket(): NodeJS.ReadableStream {
    return (this.client as unknown as { connection: { stream: NodeJS.ReadableStream } }).connection.stream;
  }
}

/** A slot or publication name as the replication grammar takes it: our names are [a-z0-9_], quoted all the same. */
const quoteName = (name: string): string => `"${name.replaceAll('"', '""')}"`;
