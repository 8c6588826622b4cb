// The `rest` source. A stream is a resource path walked page by page:
//
//   paginator ─► HttpClient.json (host limits, retries, breaker, auth) ─► records path ─► pageBatches (DLQ, dedupe)
//
// Offset/page pagination requests `prefetch_pages` pages ahead and yields them in order; the other kinds
// are sequential. Every page ends with a checkpoint holding the next request, so a killed run resumes at the page it
// had not committed; the last page's checkpoint drops it, leaving only the incremental cursor the engine keeps.
// A retried page is the same request: its records are yielded once, and a `merge` stream is exactly once even across
// a resume. A child stream (`parent:`) fetches its parents, then each parent's children with bounded concurrency.
import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { RunContext, Source, SourceSlice, StreamConfig } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { Batch, Row, StreamState } from '../../core/types.js';
import { registerSecretHeaders } from '../../http/auth.js';
import { HttpClient } from '../../http/http-client.js';
import { fillPath, fillTemplate, joinUrl, recordsOf, valueAt } from '../../http/json-path.js';
import { pageBatches, type FetchedPage } from '../../http/page-batches.js';
import { SeenKeys } from '../../http/seen-keys.js';
import { xmlRecords } from './xml-body.js';
import { orderedMap } from './ordered-map.js';
import { paginator, type PageRequest, type PageResponse, type Paginator, type ResumePoint } from './rest-paginate.js';
import type { RestSourceConfig, RestStreamOptions } from './rest-spec.js';

type RestStream = StreamConfig & RestStreamOptions;

interface Page extends FetchedPage {
  req: PageRequest;
  next: PageRequest | undefined;
}

export class RestSource implements Source {
  readonly type = 'rest';
  private client: HttpClient | undefined;

  constructor(private readonly config: RestSourceConfig) {}

  async connect(ctx: RunContext): Promise<void> {
    if (this.client) return;
    this.client = new HttpClient(this.config, ctx.logger);
    for (const s of this.config.streams) registerSecretHeaders(s.headers);
  }

  async check(ctx: RunContext): Promise<void> {
    await this.connect(ctx);
    const first = this.config.streams.find((s) => !s.parent);
    if (first) await this.http().json({ url: this.firstUrl(first as RestStream, {}) }, ctx.signal);
  }

  /** A child stream on workers: shares of its parents, a task each (`parent_slices`). Others are read whole. */
  async slices(streamConfig: StreamConfig): Promise<SourceSlice[] | undefined> {
    const stream = streamConfig as RestStream;
    const of = stream.parent ? stream.parent_slices ?? DEFAULT_PARENT_SLICES : 1;
    return of < 2 ? undefined : Array.from({ length: of }, (_, index) => ({ id: `p${index}of${of}`, part: { index, of } }));
  }

  async *read(streamConfig: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncGenerator<Batch> {
    await this.connect(ctx);
    const stream = streamConfig as RestStream;
    const { connector: stored, ...base } = state ?? { version: 1 };
    const dedupe = stream.dedupe ?? stream.primary_key.length > 0;
    const seen = dedupe && stream.primary_key.length ? new SeenKeys(stream.primary_key) : undefined;
    const vars = { cursor: this.cursorValue(stream, state) };
    const done: StreamState = { ...base, version: 1 };

    if (stream.parent) {
      // A share of the parents (a split child stream) says in its state that it was read to its end: its task, taken
      // over after that commit, has nothing left to fetch.
      const part = ctx.slice?.part;
      if (part && (stored as { done?: boolean } | undefined)?.done) return;
      yield* this.readChildren(stream, vars, seen, ctx, part);
      yield { rows: [], checkpoint: part ? { ...done, connector: { done: true } } : done };
    } else {
      const resume = (stored as { next?: ResumePoint } | undefined)?.next;
      const pager = this.pager(stream, vars, resume);
      let last: Page | undefined;
      for await (const page of this.pages(stream, vars, resume, this.ahead(stream), ctx.signal)) {
        last = page;
        const checkpoint: StreamState = page.next
          ? { ...base, version: 1, connector: { next: pager.resumePoint(page.next) } }
          : done;
        yield* pageBatches(page, ctx.batchSize, seen, checkpoint);
      }
      if (!last) yield { rows: [], checkpoint: done };
    }
    if (seen?.duplicates) ctx.logger.info({ stream: stream.name, duplicates: seen.duplicates, distinct: seen.size }, 'records repeated across pages were skipped');
    if (seen?.unkeyed) {
      // Said out loud: a primary key built by a transform is not in the records yet, so nothing was deduplicated.
      ctx.logger.warn({ stream: stream.name, records: seen.unkeyed, primary_key: stream.primary_key },
        'records without the primary key were not deduplicated across pages; if a transform builds the key, set `dedupe: false` and add a `dedupe` step');
    }
  }

  async close(): Promise<void> {
    this.client = undefined;
  }

  /** Pages of one pagination walk, in order; predictable pagination keeps up to `ahead` requests in flight. */
  private async *pages(stream: RestStream, vars: Record<string, unknown>, resume: ResumePoint | undefined, ahead: number, signal: AbortSignal): AsyncGenerator<Page> {
    const pager = this.pager(stream, vars, resume);
    const max = 'max_pages' in stream.paginate && stream.paginate.max_pages !== undefined ? stream.paginate.max_pages : Infinity;
    let fetched = 0;
    if (!pager.predictable || ahead <= 1) {
      let req: PageRequest | undefined = pager.first();
      while (req) {
        const page = await this.fetchPage(stream, pager, req, signal);
        if (++fetched >= max) page.next = undefined;
        yield page;
        req = page.next;
      }
      return;
    }
    // Fetch ahead; a page that ends the stream makes the requests beyond it moot, and they are cancelled.
    const stop = new AbortController();
    const both = AbortSignal.any([signal, stop.signal]);
    // Every request in flight listens on it: `ahead` of them at once is the design, not a leak.
    setMaxListeners(ahead + 10, both);
    const inflight: Promise<Page>[] = [];
    let k = 0;
    const launch = (): void => {
      while (inflight.length < ahead && k < max) {
        const p = this.fetchPage(stream, pager, pager.nth(k++), both);
        p.catch(() => undefined); // awaited in order below; a rejection nobody reached yet is not unhandled
        inflight.push(p);
      }
    };
    try {
      launch();
      while (inflight.length) {
        const page = await inflight.shift()!;
        if (++fetched >= max) page.next = undefined;
        if (page.next) launch();
        yield page;
        if (!page.next) return;
      }
    } finally {
      stop.abort();
    }
  }

  private async fetchPage(stream: RestStream, pager: Paginator, req: PageRequest, signal: AbortSignal): Promise<Page> {
    const xml = stream.format === 'xml' ? { parse: this.xmlParser(stream), accept: 'application/xml, text/xml;q=0.9' } : {};
    const res = await this.http().json({ url: req.url, headers: stream.headers, ...xml }, signal);
    const url = this.clean(req.url).toString();
    // An XML body is parsed straight into its records; a JSON body holds them at `records`.
    const records = stream.format === 'xml' ? res.body as Record<string, unknown>[] : recordsOf(res.body, stream.records);
    if (typeof records === 'string') throw new RunError(`stream ${stream.name}: ${records} of ${url}`, stream.name);
    const response: PageResponse = { body: res.body, headers: res.headers, count: records.length };
    const next = stream.stop_on_empty && records.length === 0 ? undefined : pager.next(req, response);
    return { url, page: req.page, records, req, next };
  }

  private readonly xmlParsers = new Map<string, (text: string, url: string) => unknown>();

  /** One compiled records path per stream. */
  private xmlParser(stream: RestStream): (text: string, url: string) => unknown {
    let p = this.xmlParsers.get(stream.name);
    if (!p) this.xmlParsers.set(stream.name, (p = xmlRecords(stream.records!, stream.namespaces)));
    return p;
  }

  /** Parents in order, each parent's child pages fetched with bounded concurrency and yielded in parent order. */
  private async *readChildren(
    stream: RestStream, vars: Record<string, unknown>, seen: SeenKeys | undefined, ctx: RunContext, part?: SourceSlice['part'],
  ): AsyncGenerator<Batch> {
    const parent = this.config.streams.find((s) => s.name === stream.parent) as RestStream | undefined;
    if (!parent) throw new RunError(`stream ${stream.name}: parent stream \`${stream.parent}\` is not a stream of this source`, stream.name);
    if (parent.parent) throw new RunError(`stream ${stream.name}: parent \`${parent.name}\` is itself a child stream; one level of nesting is supported`, stream.name);
    const parentSeen = parent.primary_key.length ? new SeenKeys(parent.primary_key) : undefined;
    const inShare = part ? (r: Row) => shareOf(r, parent.primary_key, part.of) === part.index : () => true;
    const ahead = this.config.rate_limit.concurrency;
    // Children still in flight when the stream ends early (an error, a cancel) are cancelled, not left retrying.
    const stop = new AbortController();
    const signal = AbortSignal.any([ctx.signal, stop.signal]);
    const parentPages = this.pages(parent, { cursor: undefined }, undefined, this.ahead(parent), signal);
    async function* parents(): AsyncGenerator<Row> {
      for await (const page of parentPages) {
        for (const r of page.records) {
          if (r === null || typeof r !== 'object' || Array.isArray(r)) continue; // the parent stream dead-letters it
          if ((!parentSeen || parentSeen.first(r as Row)) && inShare(r as Row)) yield r as Row;
        }
      }
    }
    const children = async (record: Row): Promise<Page[]> => {
      const out: Page[] = [];
      for await (const page of this.pages(stream, { ...vars, parent: record }, undefined, 1, signal)) out.push(page);
      return out;
    };
    const fields = Object.entries(stream.parent_fields ?? {});
    try {
      for await (const { input, output } of orderedMap(parents(), children, stream.parent_concurrency ?? ahead, signal)) {
        const decorate = fields.length
          ? (row: Row): Row => ({ ...row, ...Object.fromEntries(fields.map(([to, from]) => [to, valueAt(input, from) ?? null])) })
          : undefined;
        for (const page of output) yield* pageBatches(page, ctx.batchSize, seen, undefined, decorate);
      }
    } finally {
      stop.abort();
    }
  }

  /** Pages requested ahead: predictable pagination only; enough to keep the host's connections busy past a slow page. */
  private ahead(stream: RestStream): number {
    if (stream.paginate.type !== 'offset' && stream.paginate.type !== 'page') return 1;
    return stream.prefetch_pages ?? 4 * this.config.rate_limit.concurrency;
  }

  private pager(stream: RestStream, vars: Record<string, unknown>, resume: ResumePoint | undefined): Paginator {
    return paginator(stream.paginate, { base: this.firstUrl(stream, vars), stopOnEmpty: stream.stop_on_empty, resume, clean: (u) => this.clean(u) });
  }

  /** The first request: base_url + path, then `params` and the incremental parameter. Templates filled from `vars`. */
  private firstUrl(stream: RestStream, vars: Record<string, unknown>): URL {
    const path = fillPath(stream.path, vars);
    if (path === undefined) {
      throw new RunError(`stream ${stream.name}: path \`${stream.path}\` refers to a value that is missing (${describeVars(vars)})`, stream.name);
    }
    const url = joinUrl(this.config.base_url, path);
    for (const [k, v] of Object.entries(stream.params)) {
      const value = typeof v === 'string' ? fillTemplate(v, vars) : String(v);
      if (value !== undefined) url.searchParams.set(k, value);
    }
    if (stream.incremental && vars.cursor !== undefined && vars.cursor !== null) url.searchParams.set(stream.incremental.param, String(vars.cursor));
    return url;
  }

  /** The value an incremental stream sends: the stored high-water mark, else `incremental.initial`. */
  private cursorValue(stream: RestStream, state: StreamState | undefined): unknown {
    const stored = stream.cursor && state?.cursor?.column === stream.cursor ? state.cursor.value : null;
    return stored ?? stream.incremental?.initial;
  }

  /** A URL fit to store and show: an API key the server echoed into a next link is removed (it is re-added on send). */
  private clean(url: URL): URL {
    const auth = this.config.auth;
    if (auth?.type !== 'api_key' || auth.in !== 'query' || !url.searchParams.has(auth.name)) return url;
    const u = new URL(url);
    u.searchParams.delete(auth.name);
    return u;
  }

  private http(): HttpClient {
    if (!this.client) throw new RunError('the rest source is not connected');
    return this.client;
  }
}

const describeVars = (vars: Record<string, unknown>): string =>
  vars.parent ? `parent record keys: ${Object.keys(vars.parent as object).join(', ')}` : 'no parent record';

/** Tasks a child stream is split into on workers unless it says (`parent_slices`). */
const DEFAULT_PARENT_SLICES = 4;

/** Which of `of` shares a parent falls in: a hash of its key (of the whole record when it has none), the same on every worker. */
function shareOf(parent: Row, key: readonly string[], of: number): number {
  const id = JSON.stringify(key.length ? key.map((k) => valueAt(parent, k) ?? null) : parent);
  return createHash('sha1').update(id).digest().readUInt32BE(0) % of;
}
