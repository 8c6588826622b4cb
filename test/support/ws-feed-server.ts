// A real WebSocket feed on loopback for the websocket source's tests: an append-only log of trade records served to
// subscribers from the offset they ask for (inclusively, as many real feeds do, so the client must drop the replayed
// record), with faults to inject: dropped sockets, a server that goes silent (no records, no pongs), malformed frames.
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

export interface Trade {
  seq: number;
  sym: string;
  price: number;
  note?: string;
}

interface Client {
  socket: WebSocket;
  /** Connection number, from 1. */
  id: number;
  /** Next seq to send; undefined until subscribed. */
  next?: number;
}

export class WsFeedServer {
  readonly trades: Trade[] = [];
  /** Subscribe messages received, parsed, in order. */
  readonly subscribes: Record<string, unknown>[] = [];
  /** Authorization headers of the handshakes, in order. */
  readonly authorizations: (string | undefined)[] = [];
  connections = 0;
  /** Opening handshakes received, refused ones included. */
  handshakes = 0;
  /** Terminate the connection right after sending this seq (once). */
  dropAfter: number | undefined;
  /** Connections (by number) that never answer pings and send nothing more once this is set: a half-open peer. */
  readonly silent = new Set<number>();
  /** Token the handshake must carry as `Bearer`, when set. */
  requireToken: string | undefined;
  /** Records per message. */
  perMessage = 1;
  /** Characters of filler per record (large volumes without many records). */
  padding = 0;
  private readonly clients = new Set<Client>();

  private constructor(private readonly wss: WebSocketServer) {
    wss.on('connection', (socket, req) => this.accept(socket, req.headers.authorization));
  }

  static async start(): Promise<WsFeedServer> {
    // autoPong off: the server answers pings itself, so a test can make it stop.
    const wss = new WebSocketServer({
      host: '127.0.0.1', port: 0, autoPong: false,
      verifyClient: (info, cb) => {
        server.handshakes++;
        const want = server.requireToken;
        if (want && info.req.headers.authorization !== `Bearer ${want}`) cb(false, 401, 'Unauthorized');
        else cb(true);
      },
    });
    const server: WsFeedServer = new WsFeedServer(wss);
    await once(wss, 'listening');
    return server;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.wss.address() as AddressInfo).port}/feed`;
  }

  /** Append `n` trades to the log and send them to every subscriber. */
  produce(n: number): void {
    for (let i = 0; i < n; i++) {
      const seq = this.trades.length + 1;
      const trade: Trade = { seq, sym: ['ABC', 'XYZ', 'QQQ'][seq % 3], price: Math.round(seq * 1.25 * 100) / 100 };
      if (this.padding) trade.note = 'x'.repeat(this.padding);
      this.trades.push(trade);
    }
    for (const c of this.clients) this.pump(c);
  }

  /** Send a raw text frame to every subscriber (malformed input, status messages). */
  sendRaw(text: string): void {
    for (const c of this.clients) if (c.next !== undefined && !this.silent.has(c.id)) c.socket.send(text);
  }

  /**
   * Resolves when every live subscriber has read everything sent so far: a ping goes out after the data and the pong
   * comes back only once the client has read (and queued) every frame before it.
   */
  async delivered(): Promise<void> {
    await Promise.all([...this.clients].filter((c) => !this.silent.has(c.id)).map(async (c) => {
      const pong = once(c.socket, 'pong');
      c.socket.ping();
      await pong;
    }));
  }

  /** Bytes sent but still waiting in this process for the client to read: a paused client makes it grow. */
  buffered(): number {
    let n = 0;
    for (const c of this.clients) n += c.socket.bufferedAmount;
    return n;
  }

  /** Resolves once `n` subscribe messages have arrived. */
  async waitForSubscribes(n: number, timeoutMs = 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.subscribes.length < n) {
      if (Date.now() > end) throw new Error(`expected ${n} subscribes, got ${this.subscribes.length}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  async close(): Promise<void> {
    for (const c of this.clients) c.socket.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  private accept(socket: WebSocket, authorization: string | undefined): void {
    const client: Client = { socket, id: ++this.connections };
    this.authorizations.push(authorization);
    this.clients.add(client);
    socket.on('close', () => this.clients.delete(client));
    socket.on('error', () => undefined);
    socket.on('ping', (data) => {
      if (!this.silent.has(client.id)) socket.pong(data);
    });
    socket.on('message', (data) => {
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (msg.op === 'ping') {
        if (!this.silent.has(client.id)) socket.send(JSON.stringify({ type: 'pong' }));
        return;
      }
      if (msg.op !== 'subscribe') return;
      this.subscribes.push(msg);
      const from = msg.from === '' || msg.from === null || msg.from === undefined ? 1 : Number(msg.from);
      socket.send(JSON.stringify({ type: 'subscribed', channel: msg.channel }));
      client.next = Math.max(1, from);
      this.pump(client);
    });
  }

  private pump(c: Client): void {
    if (c.next === undefined || this.silent.has(c.id) || c.socket.readyState !== c.socket.OPEN) return;
    while (c.next <= this.trades.length) {
      const batch = this.trades.slice(c.next - 1, c.next - 1 + this.perMessage);
      c.next += batch.length;
      c.socket.send(JSON.stringify({ type: 'trade', data: batch.length === 1 ? batch[0] : batch }));
      const last = batch[batch.length - 1].seq;
      if (this.dropAfter !== undefined && this.dropAfter >= batch[0].seq && this.dropAfter <= last) {
        this.dropAfter = undefined;
        c.next = undefined;
        // Let the frames already sent go out, then cut the TCP connection without a close frame.
        setTimeout(() => c.socket.terminate(), 20);
        return;
      }
    }
  }
}
