// The `graphql` source against a loopback GraphQL endpoint: relay pagination (nodes and edges), variables, resume
// from the cursor in state, incremental variables, and the `errors` array failing the run.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceSchema } from '../../src/config/pipeline-spec.js';
import { graphqlSourceSpec } from '../../src/connectors/graphql/graphql-spec.js';
import type { StreamConfig } from '../../src/core/connector.js';
import type { Batch, Row, StreamState } from '../../src/core/types.js';
import { runContext, tempDir } from '../helpers.js';
import { startFaultServer, type FaultServer, type Request } from '../support/fault-server.js';

const ISSUES = Array.from({ length: 25 }, (_, i) => ({ number: i + 1, title: `Issue ${i + 1}`, updatedAt: new Date(Date.UTC(2024, 0, 1 + i)).toISOString() }));
const QUERY = 'query($owner: String!, $first: Int!, $after: String, $since: DateTime) { repository(owner: $owner) { issues(first: $first, after: $after, since: $since) { nodes { number title updatedAt } edges { cursor node { number title } } pageInfo { hasNextPage endCursor } } } }';

/** Answers the issues connection from the request's variables; `errorsOn` adds an `errors` entry (with partial data). */
function graphqlRoute(errorsOn?: (vars: Record<string, unknown>) => boolean) {
  return (req: Request) => {
    const { query, variables } = JSON.parse(req.body) as { query: string; variables: Record<string, unknown> };
    if (!query.includes('issues')) return { body: { data: { __typename: 'Query' } } };
    const since = variables.since ? Date.parse(String(variables.since)) : 0;
    const matching = ISSUES.filter((x) => Date.parse(x.updatedAt) >= since);
    const start = variables.after ? Number(Buffer.from(String(variables.after), 'base64').toString()) : 0;
    const page = matching.slice(start, start + Number(variables.first));
    const end = start + page.length;
    const cursor = (n: number) => Buffer.from(String(n)).toString('base64');
    const data = {
      repository: {
        issues: {
          nodes: page,
          edges: page.map((node, k) => ({ cursor: cursor(start + k + 1), node: { number: node.number, title: node.title } })),
          pageInfo: { hasNextPage: end < matching.length, endCursor: page.length ? cursor(end) : null },
        },
      },
    };
    if (errorsOn?.(variables)) return { body: { data, errors: [{ message: 'API rate limit exceeded for installation', path: ['repository'] }] } };
    return { body: { data } };
  };
}

const servers: FaultServer[] = [];
const cleanups: (() => void)[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  cleanups.forEach((c) => c());
});

async function read(endpoint: string, stream: Record<string, unknown>, state?: StreamState, extra: Record<string, unknown> = {}): Promise<{ rows: Row[]; batches: Batch[] }> {
  const config = sourceSchema(graphqlSourceSpec).parse({ name: 'gh', type: 'graphql', endpoint, ...extra, streams: [{ name: 'issues', ...stream }] });
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const batches: Batch[] = [];
  const src = await graphqlSourceSpec.create(config as Parameters<typeof graphqlSourceSpec.create>[0]);
  for await (const b of src.read((config.streams as unknown as StreamConfig[])[0], state, runContext(dir))) batches.push(b);
  return { rows: batches.flatMap((b) => b.rows), batches };
}

async function serve(route: (req: Request) => { body: unknown }): Promise<FaultServer> {
  const s = await startFaultServer({ route });
  servers.push(s);
  return s;
}

const base = { query: QUERY, variables: { owner: 'acme', first: 10 }, records: 'data.repository.issues', paginate: {} };

test('relay pagination over nodes: variables sent, cursor fed back, checkpoint holds the next cursor', async () => {
  const s = await serve(graphqlRoute());
  const { rows, batches } = await read(`${s.url}/graphql`, base, undefined, { auth: { type: 'bearer', token: 'gql-token-abc' } });
  assert.deepEqual(rows.map((r) => r.number), ISSUES.map((x) => x.number));
  assert.equal(s.stats.requests, 3);
  const sent = s.stats.log.map((q) => JSON.parse(q.body).variables);
  assert.deepEqual(sent[0], { owner: 'acme', first: 10 });
  assert.equal(sent[1].after, Buffer.from('10').toString('base64'));
  assert.equal(s.stats.log[0].headers.authorization, 'Bearer gql-token-abc');
  assert.equal(s.stats.log[0].method, 'POST');
  assert.deepEqual(batches[0].checkpoint!.connector, { next: { page: 2, cursor: Buffer.from('10').toString('base64') } });
  assert.equal(batches.at(-1)!.checkpoint!.connector, undefined);
  assert.deepEqual(batches[0].positionOf!(0), { url: `${s.url}/graphql`, page: 1 });
});

test('edges[].node records; a killed run resumes from the cursor in state', async () => {
  const s = await serve(graphqlRoute());
  const { rows } = await read(`${s.url}/graphql`, { ...base, records: 'data.repository.issues.edges', paginate: { page_info: 'data.repository.issues.pageInfo' } },
    { version: 1, connector: { next: { page: 3, cursor: Buffer.from('20').toString('base64') } } });
  assert.deepEqual(rows, ISSUES.slice(20).map((x) => ({ number: x.number, title: x.title })));
  assert.equal(s.stats.requests, 1);
});

test('incremental: the stored cursor high-water mark is sent as a variable', async () => {
  const s = await serve(graphqlRoute());
  const { rows } = await read(`${s.url}/graphql`, { ...base, cursor: 'updatedAt', incremental: { variable: 'since' } },
    { version: 1, cursor: { column: 'updatedAt', value: ISSUES[22].updatedAt } });
  assert.deepEqual(rows.map((r) => r.number), [23, 24, 25]);
  assert.equal(JSON.parse(s.stats.log[0].body).variables.since, ISSUES[22].updatedAt);
});

test('an `errors` array fails the run with the messages, also when partial data came with it', async () => {
  const s = await serve(graphqlRoute((vars) => vars.after !== undefined));
  await assert.rejects(read(`${s.url}/graphql`, base), /stream issues: GraphQL errors from http:\/\/127\.0\.0\.1:\d+\/graphql: API rate limit exceeded for installation/);
  assert.equal(s.stats.requests, 2, 'the first page was fine; the second carried errors');
  await assert.rejects(read(`${s.url}/graphql`, { ...base, records: 'data.repository.nope' }), /no `data\.repository\.nope` in the response/);
});
