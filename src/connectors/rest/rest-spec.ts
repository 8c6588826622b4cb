// The `rest` source: options, docs and construction in one place.
import { z } from 'zod';
import type { SourceSpec } from '../../core/connector.js';
import { httpConnectionKeys } from '../../http/http-options.js';

const maxPages = z.int().min(1).optional().describe('Stop after this many pages in one run (a safety net, or a sample).');

export const paginateSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('none').describe('One request; its records are the whole stream.') }),
  z.strictObject({
    type: z.literal('offset'),
    limit: z.int().min(1).describe('Records per page, sent as `limit_param`. Keep it at or below the server\'s maximum: a page shorter than `limit` ends the stream.'),
    limit_param: z.string().min(1).default('limit').describe('Query parameter carrying the page size.'),
    offset_param: z.string().min(1).default('offset').describe('Query parameter carrying the offset.'),
    start: z.int().min(0).default(0).describe('Offset of the first page.'),
    max_pages: maxPages,
  }).describe('`?limit=N&offset=K`: stops at an empty page or one with fewer than `limit` records. Pages are fetched ahead concurrently (`prefetch_pages`) and used in order.'),
  z.strictObject({
    type: z.literal('page'),
    param: z.string().min(1).default('page').describe('Query parameter carrying the page number.'),
    start: z.int().min(0).default(1).describe('Number of the first page.'),
    size: z.int().min(1).optional().describe('Records per page; with it a page with fewer records ends the stream.'),
    size_param: z.string().min(1).optional().describe('Query parameter carrying `size`, e.g. `per_page`.'),
    max_pages: maxPages,
  }).describe('`?page=N`: stops at an empty page (or a short one when `size` is set). Pages are fetched ahead concurrently and used in order.'),
  z.strictObject({
    type: z.literal('cursor'),
    path: z.string().min(1).describe('Dot path of the next cursor token in the body, e.g. `meta.next_cursor`.'),
    param: z.string().min(1).describe('Query parameter the token is sent back in, e.g. `after`.'),
    max_pages: maxPages,
  }).describe('A token from each body sent back as a parameter: stops when the token is null, absent or empty, repeats, or a page is empty.'),
  z.strictObject({
    type: z.literal('next_url'),
    path: z.string().min(1).describe('Dot path of the next page\'s URL in the body, e.g. `pagination.next_url` (OpenParliament) or `meta.next` (Represent). Relative URLs resolve against the current request.'),
    max_pages: maxPages,
  }).describe('Follow the next URL given in the body: stops when it is null, absent or empty, repeats, or a page is empty. Stream `params` go on the first request only (next URLs carry their own).'),
  z.strictObject({
    type: z.literal('link_header'),
    rel: z.string().min(1).default('next').describe('Relation to follow in the RFC 8288 `Link` header.'),
    max_pages: maxPages,
  }).describe('Follow `Link: <…>; rel="next"` (GitHub style): stops when there is none, it repeats, or a page is empty.'),
]);

export type Paginate = z.output<typeof paginateSchema>;

const param = z.union([z.string(), z.number(), z.boolean()]);

export const restStreamKeys = {
  path: z.string().min(1)
    .describe('Path under `base_url` (or an absolute URL). May hold `{{parent.<field>}}` (child streams) and `{{cursor}}` templates; values are URL-encoded, and keep their slashes in the path part.'),
  params: z.record(z.string(), param).default({})
    .describe('Query parameters of the first request. A string value may be a template (`"{{cursor}}"`); a parameter whose template has no value yet (no cursor on a first run) is left out.'),
  headers: z.record(z.string(), z.string()).default({}).describe('Headers of this stream\'s requests, over the source\'s `headers`.'),
  records: z.string().min(1).optional()
    .describe('Dot path of the array of records in the body (`objects`, `data.items`). Default: the body if it is an array, else its first array-valued field. A record that is not an object goes to the DLQ with its `{url, page}`. With `format: xml`, the records element path instead (`rss/channel/item`, `//entry`), as in the `xml` file source.'),
  format: z.enum(['json', 'xml']).default('json')
    .describe('Body format. `xml`: each element `records` names is a record (attributes as `@name` columns, nested elements flattened to `parent.child`); a malformed body is retried like a truncated one. Pagination by offset, page or `Link` header (body paths are JSON only).'),
  namespaces: z.record(z.string(), z.string()).default({})
    .describe('With `format: xml`: prefixes used in `records`, mapped to namespace URIs.'),
  paginate: paginateSchema.default({ type: 'none' })
    .describe('How to get the next page: `{type: offset, limit, limit_param, offset_param, start}`, `{type: page, param, start, size, size_param}`, `{type: cursor, path, param}`, `{type: next_url, path}`, `{type: link_header, rel}` (each with an optional `max_pages`) or `{type: none}`. Each page is a checkpoint (the next request is kept in state), so a killed run resumes where it stopped; a finished run keeps only the incremental cursor.'),
  stop_on_empty: z.boolean().default(true).describe('An empty page ends the stream whatever the pagination says.'),
  incremental: z.strictObject({
    param: z.string().min(1).describe('Query parameter that receives the stored cursor value, e.g. `updated_since` or `date__gt`.'),
    initial: z.union([z.string(), z.number()]).optional().describe('Value sent on a first run (no state yet); without it the parameter is left out and the whole resource is read.'),
  }).optional()
    .describe('`{param, initial}`: incremental extraction; the high-water mark of the stream\'s `cursor` column from the last run is sent as `param` on the first request (also available as `{{cursor}}` in `path`/`params`). Rows older than the mark are filtered by the engine, so an inclusive server filter is fine. Requires `cursor`.'),
  parent: z.string().min(1).optional()
    .describe('Child resource: the name of another stream of this source. Every parent record (deduplicated by the parent\'s `primary_key`) is fetched, and `path` is requested once per parent with `{{parent.<field>}}` filled, e.g. `/votes/ballots/?vote={{parent.url}}`. A child stream commits once, at its end.'),
  parent_fields: z.record(z.string(), z.string()).optional()
    .describe('Columns copied from the parent record into each child record: `{ vote_url: url }` adds `vote_url` = the parent\'s `url` (a dot path).'),
  parent_slices: z.int().min(1).max(64).optional()
    .describe('On workers (`--workers`), a child stream is split into this many tasks, each fetching the children of its share of the parents (by a hash of the parent\'s key; each task lists the parents itself). Default 4; 1 keeps it one task.'),
  parent_concurrency: z.int().min(1).optional()
    .describe('Parents whose children are fetched at the same time (default: `rate_limit.concurrency`). The host limits still hold.'),
  prefetch_pages: z.int().min(1).optional()
    .describe('Offset and page pagination: pages requested ahead of the one being loaded (default: 4 × `rate_limit.concurrency`). They queue for the host limits, so a page stuck in retries does not idle the other connections; pages past the end of the stream are requested and discarded.'),
  dedupe: z.boolean().optional()
    .describe('Drop records whose `primary_key` was already seen in this run (offset pages over an unstable sort repeat records). Default: on when the stream has a `primary_key`. Memory: one entry per distinct key (the key text, or its 28-character SHA-1 digest when longer than 40 characters).'),
};

const restStream = z.object(restStreamKeys);
export type RestStreamOptions = z.output<typeof restStream>;

export const restSourceConfig = z.object({
  base_url: z.url().describe('Base URL of the API, e.g. `https://api.openparliament.ca`; stream paths are appended to it.'),
  ...httpConnectionKeys,
});

export type RestSourceConfig = z.output<typeof restSourceConfig> & { streams: (RestStreamOptions & { name: string; primary_key: string[] })[] };

export const restSourceSpec: SourceSpec<RestSourceConfig> = {
  kind: 'source',
  type: 'rest',
  status: 'beta',
  description: 'Declarative REST/JSON APIs: a path, parameters and a records path per stream; offset, page, cursor, next-URL '
    + 'and Link-header pagination; bearer, API-key, basic and OAuth2 client-credentials auth; per-host rate and concurrency '
    + 'limits, retries with backoff and Retry-After, a circuit breaker; incremental parameters, parent → child resources '
    + 'and dedupe of records repeated across pages.',
  config: restSourceConfig.strict().superRefine((c, ctx) => {
    // Runs on the whole source (streams included): a child must name a sibling stream, and not itself.
    const streams = ((c as { streams?: { name: string; parent?: string }[] }).streams ?? []);
    const names = new Set(streams.map((s) => s.name));
    streams.forEach((s, i) => {
      if (s.parent !== undefined && (!names.has(s.parent) || s.parent === s.name)) {
        ctx.addIssue({ code: 'custom', path: ['streams', i, 'parent'], message: `\`parent\` must name another stream of this source (${[...names].filter((n) => n !== s.name).join(', ') || 'none'})` });
      }
    });
  }),
  stream: restStream.strict().superRefine((s, ctx) => {
    if (s.format === 'xml' && !s.records) {
      ctx.addIssue({ code: 'custom', path: ['records'], message: '`format: xml` needs `records`: the path of the record elements, e.g. `rss/channel/item` or `//entry`' });
    }
    if (s.format === 'xml' && (s.paginate.type === 'next_url' || s.paginate.type === 'cursor')) {
      ctx.addIssue({ code: 'custom', path: ['paginate'], message: 'with `format: xml`, paginate by `offset`, `page` or `link_header` (`next_url` and `cursor` read a JSON body)' });
    }
    if (s.incremental && !(s as { cursor?: string }).cursor) {
      ctx.addIssue({ code: 'custom', path: ['incremental'], message: '`incremental` needs the stream\'s `cursor` column (its high-water mark is the value sent)' });
    }
  }),
  create: async (config) => new (await import('./rest-source.js')).RestSource(config),
};
