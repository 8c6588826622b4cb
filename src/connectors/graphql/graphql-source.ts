// The `graphql` source: one POST per page, `{query, variables}`; relay pagination feeds `pageInfo.endCursor` back as
// the cursor variable while `hasNextPage` holds. Each page ends with a checkpoint holding the next cursor. The
// `errors` array fails the run (see the spec's description for why partial data is not loaded).
import type { RunContext, Source, StreamConfig } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { Batch, StreamState } from '../../core/types.js';
import { HttpClient } from '../../http/http-client.js';
import { valueAt } from '../../http/json-path.js';
import { pageBatches } from '../../http/page-batches.js';
import { SeenKeys } from '../../http/seen-keys.js';
import type { GraphqlSourceConfig, GraphqlStreamOptions } from './graphql-spec.js';

type GraphqlStream = StreamConfig & GraphqlStreamOptions;

interface GraphqlResume {
  page: number;
  cursor: string;
}

export class GraphqlSource implements Source {
  readonly type = 'graphql';
  private client: HttpClient | undefined;

  constructor(private readonly config: GraphqlSourceConfig) {}

  async connect(ctx: RunContext): Promise<void> {
    this.client ??= new HttpClient(this.config, ctx.logger);
  }

  async check(ctx: RunContext): Promise<void> {
    await this.connect(ctx);
    await this.post('{ __typename }', {}, ctx.signal);
  }

  async *read(streamConfig: StreamConfig, state: StreamState | undefined, ctx: RunContext): AsyncGenerator<Batch> {
    await this.connect(ctx);
    const stream = streamConfig as GraphqlStream;
    const { connector: stored, ...base } = state ?? { version: 1 };
    const resume = (stored as { next?: GraphqlResume } | undefined)?.next;
    const seen = (stream.dedupe ?? true) && stream.primary_key.length ? new SeenKeys(stream.primary_key) : undefined;
    const variables: Record<string, unknown> = { ...stream.variables };
    if (stream.incremental) {
      const mark = stream.cursor && state?.cursor?.column === stream.cursor ? state.cursor.value : null;
      variables[stream.incremental.variable] = mark ?? stream.incremental.initial ?? null;
    }
    const paginate = stream.paginate;
    let page = resume?.page ?? 1;
    let cursor: string | undefined = resume?.cursor;
    let fetched = 0;
    while (true) {
      if (paginate && cursor !== undefined) variables[paginate.cursor_variable] = cursor;
      const body = await this.post(stream.query, variables, ctx.signal, stream.name);
      const { records, error } = recordsAt(body, stream.records);
      if (error) throw new RunError(`stream ${stream.name}: ${error} (page ${page})`, stream.name);
      let next: string | undefined;
      if (paginate) {
        const info = valueAt(body, paginate.page_info ?? `${stream.records}.pageInfo`) as { hasNextPage?: unknown; endCursor?: unknown } | undefined;
        if (info === undefined || info === null) throw new RunError(`stream ${stream.name}: no pageInfo at \`${paginate.page_info ?? `${stream.records}.pageInfo`}\`; select \`pageInfo { hasNextPage endCursor }\``, stream.name);
        if (info.hasNextPage === true && typeof info.endCursor === 'string' && info.endCursor !== cursor && records.length > 0) next = info.endCursor;
        if (paginate.max_pages !== undefined && ++fetched >= paginate.max_pages) next = undefined;
      }
      const checkpoint: StreamState = next === undefined
        ? { ...base, version: 1 }
        : { ...base, version: 1, connector: { next: { page: page + 1, cursor: next } satisfies GraphqlResume } };
      yield* pageBatches({ url: this.config.endpoint, page, records }, ctx.batchSize, seen, checkpoint);
      if (next === undefined) break;
      cursor = next;
      page++;
    }
  }

  async close(): Promise<void> {
    this.client = undefined;
  }

  private async post(query: string, variables: Record<string, unknown>, signal: AbortSignal, stream?: string): Promise<unknown> {
    if (!this.client) throw new RunError('the graphql source is not connected');
    const res = await this.client.json({
      url: new URL(this.config.endpoint), method: 'POST', body: JSON.stringify({ query, variables }),
      headers: { 'content-type': 'application/json' },
    }, signal);
    const errors = (res.body as { errors?: unknown } | null)?.errors;
    if (Array.isArray(errors) && errors.length > 0) {
      const messages = errors.slice(0, 5).map((e) => (e as { message?: unknown })?.message ?? JSON.stringify(e)).join('; ');
      throw new RunError(`${stream ? `stream ${stream}: ` : ''}GraphQL errors from ${this.config.endpoint}: ${messages}${errors.length > 5 ? ` (+${errors.length - 5} more)` : ''}`, stream);
    }
    return res.body;
  }
}

/** Records at a connection (`nodes`, or `edges[].node`) or an array. */
function recordsAt(body: unknown, path: string): { records: unknown[]; error?: string } {
  const v = valueAt(body, path);
  if (v === null) return { records: [] };
  if (Array.isArray(v)) return { records: path.endsWith('edges') ? unwrapEdges(v) : v };
  if (v && typeof v === 'object') {
    const c = v as { nodes?: unknown; edges?: unknown };
    if (Array.isArray(c.nodes)) return { records: c.nodes };
    if (Array.isArray(c.edges)) return { records: unwrapEdges(c.edges) };
    return { records: [], error: `\`${path}\` is a connection without \`nodes\` or \`edges\`` };
  }
  return { records: [], error: v === undefined ? `no \`${path}\` in the response` : `\`${path}\` is ${typeof v}, not records` };
}

/** Relay edges carry the record in `node`; an edge without one is kept whole (and dead-lettered if not an object). */
const unwrapEdges = (edges: unknown[]): unknown[] =>
  edges.map((e) => (e && typeof e === 'object' && 'node' in e ? (e as { node: unknown }).node : e));
