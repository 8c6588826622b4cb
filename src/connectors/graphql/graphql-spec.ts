// The `graphql` source: options, docs and construction in one place.
import { z } from 'zod';
import type { SourceSpec } from '../../core/connector.js';
import { httpConnectionKeys } from '../../http/http-options.js';

export const graphqlStreamKeys = {
  query: z.string().min(1)
    .describe('The GraphQL query. For relay pagination it declares the cursor variable (e.g. `$after: String`) and selects `pageInfo { hasNextPage endCursor }` on the connection.'),
  variables: z.record(z.string(), z.unknown()).default({}).describe('Variables sent with every request (e.g. `{ owner: acme, first: 100 }`).'),
  records: z.string().min(1)
    .describe('Dot path of the records: a connection (`data.repository.issues`, whose `nodes`, or `edges[].node`, are the records), or an array (`data.items`). A record that is not an object goes to the DLQ.'),
  paginate: z.strictObject({
    cursor_variable: z.string().min(1).default('after').describe('Variable that receives `pageInfo.endCursor` of the previous page.'),
    page_info: z.string().min(1).optional().describe('Dot path of `pageInfo` (default: `<records>.pageInfo`).'),
    max_pages: z.int().min(1).optional().describe('Stop after this many pages in one run.'),
  }).optional()
    .describe('`{cursor_variable, page_info, max_pages}` (`{}` for the defaults): relay cursor pagination; request again with the end cursor while `hasNextPage` is true. Without it, one request. Each page is a checkpoint holding the next cursor, so a killed run resumes there.'),
  incremental: z.strictObject({
    variable: z.string().min(1).describe('Variable that receives the stored high-water mark of the stream\'s `cursor` column, e.g. `since`.'),
    initial: z.union([z.string(), z.number()]).optional().describe('Value on a first run; without it the variable is null.'),
  }).optional().describe('`{variable, initial}`: incremental extraction; the last run\'s cursor high-water mark as a query variable. Requires `cursor`.'),
  dedupe: z.boolean().optional()
    .describe('Drop records whose `primary_key` was already seen in this run. Default: on when the stream has a `primary_key`; one Set entry per distinct key.'),
};

const graphqlStream = z.object(graphqlStreamKeys);
export type GraphqlStreamOptions = z.output<typeof graphqlStream>;

export const graphqlSourceConfig = z.object({
  endpoint: z.url().describe('GraphQL endpoint, e.g. `https://api.github.com/graphql`; queries are POSTed as JSON.'),
  ...httpConnectionKeys,
});

export type GraphqlSourceConfig = z.output<typeof graphqlSourceConfig>;

export const graphqlSourceSpec: SourceSpec<GraphqlSourceConfig> = {
  kind: 'source',
  type: 'graphql',
  status: 'beta',
  description: 'GraphQL APIs: a query with variables per stream, relay cursor pagination (`pageInfo.hasNextPage`/`endCursor`, '
    + 'nodes or edges), and the same HTTP machinery as `rest` (auth, per-host limits, retries, circuit breaker). A response '
    + 'with an `errors` array fails the run, also when it carries partial data: loading part of a page and moving the '
    + 'cursor past it would lose records for good.',
  config: graphqlSourceConfig.strict(),
  stream: graphqlStream.strict().superRefine((s, ctx) => {
    if (s.incremental && !(s as { cursor?: string }).cursor) {
      ctx.addIssue({ code: 'custom', path: ['incremental'], message: '`incremental` needs the stream\'s `cursor` column (its high-water mark is the value sent)' });
    }
  }),
  create: async (config) => new (await import('./graphql-source.js')).GraphqlSource(config),
};
