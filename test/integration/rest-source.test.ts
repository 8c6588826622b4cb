// The `rest` source against real loopback servers: every pagination kind, every auth kind, and the faults the HTTP
// machinery must survive (429 + Retry-After, 500s, timeouts, truncated bodies, malformed JSON, dropped sockets),
// the circuit breaker, the rate limit as the server sees it, dedupe, DLQ positions, parent → child and resume.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceSchema } from '../../src/config/pipeline-spec.js';
import { restSourceSpec, type RestSourceConfig } from '../../src/connectors/rest/rest-spec.js';
import type { StreamConfig } from '../../src/core/connector.js';
import { redact } from '../../src/core/redact.js';
import type { Batch, Row, StreamState } from '../../src/core/types.js';
import { batchLength, rowAt } from '../../src/core/types.js';
import { runContext, tempDir } from '../helpers.js';
import { offsetPage, startFaultServer, type Fault, type FaultServer, type FaultServerOptions, type Request } from '../support/fault-server.js';

const servers: FaultServer[] = [];
const cleanups: (() => void)[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
  cleanups.forEach((c) => c());
});

async function serve(options: FaultServerOptions): Promise<FaultServer> {
  const s = await startFaultServer(options);
  servers.push(s);
  return s;
}

/** A collection of `total` records served with `?limit&offset`. */
const offsetRoute = (total: number) => (req: Request) => {
  const limit = Number(req.url.searchParams.get('limit') ?? 20);
  const offset = Number(req.url.searchParams.get('offset') ?? 0);
  return { body: { objects: offsetPage(total, offset, limit), pagination: { offset, limit } } };
};

interface ReadResult {
  batches: Batch[];
  rows: Row[];
  rejected: NonNullable<Batch['rejected']>;
  last: StreamState | undefined;
}

async function read(source: Record<string, unknown>, streamName?: string, state?: StreamState, batchSize = 1000): Promise<ReadResult> {
  const config = sourceSchema(restSourceSpec).parse({ name: 'api', type: 'rest', ...source }) as RestSourceConfig;
  const stream = (config.streams as unknown as StreamConfig[]).find((s) => !streamName || s.name === streamName)!;
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const src = await restSourceSpec.create(config);
  const batches: Batch[] = [];
  try {
    for await (const b of src.read(stream, state, runContext(dir, { batchSize }))) batches.push(b);
  } finally {
    await src.close?.();
  }
  const rows = batches.flatMap((b) => Array.from({ length: batchLength(b) }, (_, i) => rowAt(b, i)));
  const withCheckpoint = batches.filter((b) => b.checkpoint);
  return { batches, rows, rejected: batches.flatMap((b) => b.rejected ?? []), last: withCheckpoint.at(-1)?.checkpoint };
}

const fast = { retry: { attempts: 6, initial_ms: 5, max_ms: 40 } };
const ids = (rows: Row[]) => rows.map((r) => r.id);
const range = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('pagination', () => {
  test('offset/limit: pages fetched ahead, used in order, stops at the short page, checkpoint per page', async () => {
    const s = await serve({ route: offsetRoute(1050), fault: () => ({ kind: 'slow', ms: Math.floor(Math.random() * 15) }) });
    const r = await read({
      base_url: s.url, rate_limit: { concurrency: 4 },
      streams: [{ name: 'items', path: '/items/', paginate: { type: 'offset', limit: 100 } }],
    }, undefined, undefined, 60);
    assert.deepEqual(ids(r.rows), range(1050));
    assert.ok(s.stats.peakConcurrency > 1 && s.stats.peakConcurrency <= 4, `peak ${s.stats.peakConcurrency}`);
    // Every page's checkpoint sits on its last batch and names the next offset; the last one names none.
    const checkpoints = r.batches.filter((b) => b.checkpoint).map((b) => b.checkpoint!.connector);
    assert.equal(checkpoints.length, 11);
    assert.deepEqual(checkpoints[0], { next: { page: 2, at: 100 } });
    assert.equal(r.last!.connector, undefined);
    assert.ok(r.batches.every((b) => batchLength(b) <= 60));
  });

  test('offset: a killed run resumes at the next page from its checkpoint', async () => {
    const s = await serve({ route: offsetRoute(500) });
    const stream = { name: 'items', path: '/items/', paginate: { type: 'offset', limit: 100 } };
    const r = await read({ base_url: s.url, streams: [stream] }, undefined, { version: 1, connector: { next: { page: 4, at: 300 } } });
    assert.deepEqual(ids(r.rows), range(500).slice(300));
    assert.equal(s.stats.log[0].url.searchParams.get('offset'), '300');
    assert.deepEqual(r.rows.length, 200);
  });

  test('XML bodies: record elements by path, attributes and nested fields, a malformed page retried', async () => {
    const feed = (page: number) => {
      const items = page > 3 ? '' : Array.from({ length: 4 }, (_, i) => {
        const id = (page - 1) * 4 + i + 1;
        return `<item id="${id}"><title>Item &amp; ${id}</title><price currency="EUR">${id}.50</price></item>`;
      }).join('');
      return `<?xml version="1.0"?><rss><channel><title>feed</title>${items}</channel></rss>`;
    };
    let broken = 0;
    const s = await serve({
      route: (req) => ({ headers: { 'content-type': 'application/xml' }, body: feed(Number(req.url.searchParams.get('page'))) }),
      // The first request for page 2 gets a cut-off document: a transport failure, retried.
      fault: (req) => (req.url.searchParams.get('page') === '2' && broken++ === 0 ? { kind: 'malformed' } : undefined),
    });
    const r = await read({ ...fast, base_url: s.url, streams: [{ name: 'x', path: '/feed', format: 'xml', records: 'rss/channel/item', paginate: { type: 'page' } }] });
    assert.deepEqual(r.rows.map((x) => x['@id']), range(12).map(String));
    assert.deepEqual(r.rows[5], { '@id': '6', title: 'Item & 6', price: '6.50', 'price.@currency': 'EUR' });
    assert.equal(broken, 2, 'the malformed page was asked for again');
    assert.match(String(s.stats.log[0].headers.accept), /application\/xml/);
    // A records path is required, and body-path pagination is refused, before any request.
    assert.throws(() => sourceSchema(restSourceSpec).parse({ name: 'api', type: 'rest', base_url: s.url, streams: [{ name: 'x', path: '/f', format: 'xml' }] }), /needs `records`/);
  });

  test('page number with size, and max_pages', async () => {
    const s = await serve({
      route: (req) => {
        const page = Number(req.url.searchParams.get('page'));
        const per = Number(req.url.searchParams.get('per_page'));
        return { body: offsetPage(95, (page - 1) * per, per) };
      },
    });
    const all = await read({ base_url: s.url, streams: [{ name: 'p', path: '/p', paginate: { type: 'page', size: 10, size_param: 'per_page' } }] });
    assert.deepEqual(ids(all.rows), range(95));
    const capped = await read({ base_url: s.url, streams: [{ name: 'p', path: '/p', paginate: { type: 'page', size: 10, size_param: 'per_page', max_pages: 3 } }] });
    assert.deepEqual(ids(capped.rows), range(30));
  });

  test('cursor token from the body', async () => {
    const s = await serve({
      route: (req) => {
        const after = Number(req.url.searchParams.get('after') ?? 0);
        const items = offsetPage(25, after, 10);
        return { body: { data: items, meta: { next_cursor: after + 10 < 25 ? String(after + 10) : null } } };
      },
    });
    const r = await read({ base_url: s.url, streams: [{ name: 'c', path: '/c', params: { kind: 'x' }, records: 'data', paginate: { type: 'cursor', path: 'meta.next_cursor', param: 'after' } }] });
    assert.deepEqual(ids(r.rows), range(25));
    assert.deepEqual(s.stats.log.map((q) => q.url.search), ['?kind=x', '?kind=x&after=10', '?kind=x&after=20']);
  });

  test('next URL from the body: a Represent `meta.next` chain (relative) and absolute URLs', async () => {
    // Represent: `meta.next` keeps the original parameters and adds limit/offset; null when offset+limit >= total.
    const reps = Array.from({ length: 47 }, (_, i) => ({ name: `Councillor ${i}`, url: `/representatives/toronto-city-council/c-${i}/`, elected_office: 'Councillor', district_name: `Ward ${i}` }));
    const s = await serve({
      route: (req) => {
        const limit = Number(req.url.searchParams.get('limit') ?? 20);
        const offset = Number(req.url.searchParams.get('offset') ?? 0);
        const next = offset + limit < reps.length ? `/representatives/toronto-city-council/?limit=${limit}&offset=${offset + limit}` : null;
        return { body: { objects: reps.slice(offset, offset + limit), meta: { offset, limit, total_count: reps.length, next, previous: null } } };
      },
    });
    const r = await read({
      base_url: s.url,
      streams: [{ name: 'reps', path: '/representatives/toronto-city-council/', params: { limit: 20 }, records: 'objects', paginate: { type: 'next_url', path: 'meta.next' }, primary_key: ['url'] }],
    });
    assert.equal(r.rows.length, 47);
    assert.equal(new Set(r.rows.map((x) => x.url)).size, 47);
    assert.deepEqual(s.stats.log.map((q) => q.url.searchParams.get('offset')), [null, '20', '40']);

    const abs = await serve({
      route: (req) => {
        const n = Number(req.url.searchParams.get('n') ?? 1);
        return { body: { items: [{ id: n }], next: n < 3 ? `${abs.url}/abs?n=${n + 1}` : '' } };
      },
    });
    const a = await read({ base_url: abs.url, streams: [{ name: 'a', path: '/abs', paginate: { type: 'next_url', path: 'next' } }] });
    assert.deepEqual(ids(a.rows), [1, 2, 3]);
  });

  test('RFC 8288 Link header', async () => {
    const s = await serve({
      route: (req) => {
        const page = Number(req.url.searchParams.get('page') ?? 1);
        const links = [`<${page < 4 ? `/l?page=${page + 1}` : ''}>; rel="next"`, '</l?page=4>; rel="last"'];
        return { headers: page < 4 ? { link: links.join(', ') } : { link: links[1] }, body: offsetPage(40, (page - 1) * 10, 10) };
      },
    });
    const r = await read({ base_url: s.url, streams: [{ name: 'l', path: '/l', paginate: { type: 'link_header' } }] });
    assert.deepEqual(ids(r.rows), range(40));
    assert.equal(s.stats.requests, 4);
  });

  test('dedupe by primary key across offset pages; non-objects dead-lettered with {url, page}', async () => {
    const s = await serve({
      route: (req) => {
        const offset = Number(req.url.searchParams.get('offset'));
        // Page 2 repeats two records of page 1 (an unstable sort order) and carries two records that are not objects.
        if (offset === 0) return { body: [{ id: 1 }, { id: 2 }, { id: 3 }, { id: 4 }] };
        if (offset === 4) return { body: [{ id: 3 }, { id: 4 }, 'oops', [5], { id: 6 }] };
        return { body: [] };
      },
    });
    const r = await read({ base_url: s.url, streams: [{ name: 'd', path: '/d', paginate: { type: 'offset', limit: 4 }, primary_key: ['id'], write: 'merge' }] });
    assert.deepEqual(ids(r.rows), [1, 2, 3, 4, 6]);
    assert.equal(r.rejected.length, 2);
    assert.equal(r.rejected[0].stage, 'parse');
    assert.equal(r.rejected[0].raw, '"oops"');
    assert.match(r.rejected[1].reason, /an array, not an object/);
    assert.deepEqual(r.rejected[0].position, { url: `${s.url}/d?limit=4&offset=4`, page: 2 });
    const withDupes = await read({ base_url: s.url, streams: [{ name: 'd', path: '/d', paginate: { type: 'offset', limit: 4 }, primary_key: ['id'], dedupe: false }] });
    assert.deepEqual(ids(withDupes.rows), [1, 2, 3, 4, 3, 4, 6]);
  });

  test('parent → child with bounded concurrency, templates and parent fields', async () => {
    const votes = Array.from({ length: 9 }, (_, i) => ({ url: `/votes/41-1/${i + 1}/`, number: i + 1 }));
    let active = 0;
    let peak = 0;
    const s = await serve({
      route: async (req) => {
        if (req.url.pathname === '/votes/') return { body: { objects: votes, pagination: { next_url: null } } };
        const vote = req.url.searchParams.get('vote')!;
        active++;
        peak = Math.max(peak, active);
        await new Promise((r) => setTimeout(r, 10));
        active--;
        const n = Number(vote.split('/')[3]);
        const offset = Number(req.url.searchParams.get('offset') ?? 0);
        // Three ballots per vote, two per page: the child stream paginates too.
        const ballots = [1, 2, 3].map((k) => ({ politician_url: `/politicians/p${k}/`, ballot: n % 2 ? 'Yes' : 'No' }));
        const next = offset === 0 ? `/votes/ballots/?vote=${encodeURIComponent(vote)}&offset=2` : null;
        return { body: { objects: ballots.slice(offset, offset + 2), pagination: { next_url: next } } };
      },
    });
    const r = await read({
      base_url: s.url, rate_limit: { concurrency: 8 },
      streams: [
        { name: 'votes', path: '/votes/', paginate: { type: 'next_url', path: 'pagination.next_url' }, primary_key: ['url'] },
        {
          name: 'ballots', parent: 'votes', path: '/votes/ballots/?vote={{parent.url}}', parent_concurrency: 3,
          paginate: { type: 'next_url', path: 'pagination.next_url' }, parent_fields: { vote_url: 'url', vote_number: 'number' },
        },
      ],
    }, 'ballots');
    assert.equal(r.rows.length, 27);
    assert.deepEqual(r.rows.slice(0, 3).map((b) => [b.vote_url, b.vote_number, b.politician_url]),
      [['/votes/41-1/1/', 1, '/politicians/p1/'], ['/votes/41-1/1/', 1, '/politicians/p2/'], ['/votes/41-1/1/', 1, '/politicians/p3/']]);
    assert.deepEqual([...new Set(r.rows.map((b) => b.vote_number))], range(9), 'children in parent order');
    assert.ok(peak >= 2 && peak <= 3, `peak child concurrency ${peak}`);
    // A child stream commits once, at its end, with no pagination left in state.
    assert.equal(r.batches.filter((b) => b.checkpoint).length, 1);
    assert.equal(r.last!.connector, undefined);
    assert.equal(s.stats.log.filter((q) => q.url.pathname === '/votes/ballots/').length, 18);
  });

  test('incremental: the stored cursor is sent as a parameter (and as {{cursor}}); first run sends `initial`', async () => {
    const s = await serve({ route: () => ({ body: [] }) });
    const stream = { name: 'i', path: '/i', params: { since: '{{cursor}}', fixed: 1 }, cursor: 'updated_at', incremental: { param: 'updated_since', initial: '2020-01-01' } };
    await read({ base_url: s.url, streams: [stream] });
    await read({ base_url: s.url, streams: [stream] }, undefined, { version: 1, cursor: { column: 'updated_at', value: '2024-05-01T00:00:00Z' } });
    assert.deepEqual(s.stats.log.map((q) => Object.fromEntries(q.url.searchParams)), [
      { since: '2020-01-01', fixed: '1', updated_since: '2020-01-01' },
      { since: '2024-05-01T00:00:00Z', fixed: '1', updated_since: '2024-05-01T00:00:00Z' },
    ]);
    assert.throws(() => sourceSchema(restSourceSpec).parse({ name: 'api', type: 'rest', base_url: s.url, streams: [{ name: 'x', path: '/x', incremental: { param: 'p' } }] }), /needs the stream's `cursor`/);
  });
});

describe('auth', () => {
  test('bearer, api_key in a header and in the query, basic', async () => {
    const s = await serve({ route: () => ({ body: [{ id: 1 }] }) });
    const one = [{ name: 'a', path: '/a' }];
    await read({ base_url: s.url, auth: { type: 'bearer', token: 'tok-bearer-123' }, streams: one });
    await read({ base_url: s.url, auth: { type: 'api_key', name: 'X-API-Key', value: 'key-header-456' }, streams: one });
    const q = await read({ base_url: s.url, auth: { type: 'api_key', in: 'query', name: 'api_key', value: 'key-query-789' }, streams: [{ name: 'a', path: '/a', paginate: { type: 'offset', limit: 1, max_pages: 2 } }] });
    await read({ base_url: s.url, auth: { type: 'basic', username: 'ann', password: 'pw-basic-000' }, streams: one });
    const [bearer, header, query1, , basic] = s.stats.log;
    assert.equal(bearer.headers.authorization, 'Bearer tok-bearer-123');
    assert.equal(header.headers['x-api-key'], 'key-header-456');
    assert.equal(query1.url.searchParams.get('api_key'), 'key-query-789');
    assert.equal(basic.headers.authorization, `Basic ${Buffer.from('ann:pw-basic-000').toString('base64')}`);
    // The query key is added on send: it is in no position and no checkpoint.
    assert.ok(!JSON.stringify(q.batches.map((b) => [b.checkpoint, b.positionOf?.(0)])).includes('key-query-789'));
    for (const secret of ['tok-bearer-123', 'key-header-456', 'key-query-789', 'pw-basic-000']) assert.equal(redact(`x ${secret} y`), 'x *** y');
  });

  test('oauth2 client credentials: token cached, refreshed on expiry and after a 401', async () => {
    let issued = 0;
    const valid = new Set<string>();
    const s = await serve({
      route: (req) => {
        if (req.url.pathname === '/oauth/token') {
          const form = new URLSearchParams(req.body);
          if (form.get('client_secret') !== 'cs-secret-1' || form.get('grant_type') !== 'client_credentials') return { status: 401, body: { error: 'invalid_client' } };
          const token = `at-${++issued}-xyz`;
          valid.add(token);
          // The first token lives 1 s (refreshed after half of it); later ones an hour.
          return { body: { access_token: token, token_type: 'Bearer', expires_in: issued === 1 ? 1 : 3600, scope: form.get('scope') } };
        }
        const token = req.headers.authorization?.replace('Bearer ', '') ?? '';
        if (!valid.has(token)) return { status: 401, body: { error: 'invalid_token' } };
        const page = Number(req.url.searchParams.get('page'));
        return { body: page <= 3 ? [{ id: page, token_used: token.length }] : [] };
      },
    });
    const config = {
      base_url: s.url,
      auth: { type: 'oauth2', token_url: `${s.url}/oauth/token`, client_id: 'cid', client_secret: 'cs-secret-1', scopes: ['read', 'write'] },
      streams: [{ name: 'o', path: '/o', paginate: { type: 'page' } }],
    };
    const r1 = await read(config);
    assert.deepEqual(ids(r1.rows), [1, 2, 3]);
    assert.equal(issued, 1, 'one token for the whole run');
    assert.equal(new URLSearchParams(s.stats.log[0].body).get('scope'), 'read write');
    await new Promise((r) => setTimeout(r, 600)); // past the refresh point of a 1 s token
    const parsed = sourceSchema(restSourceSpec).parse({ name: 'api', type: 'rest', ...config }) as RestSourceConfig;
    const src = await restSourceSpec.create(parsed);
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const ctx = runContext(dir);
    const stream = parsed.streams[0] as unknown as StreamConfig;
    for await (const _ of src.read(stream, undefined, ctx)) { /* drain */ }
    assert.equal(issued, 2, 'a fresh client fetched its own token');
    valid.clear(); // the server revokes every token: the next request gets 401, and the source fetches a new one
    const rows: Row[] = [];
    for await (const b of src.read(stream, undefined, ctx)) rows.push(...b.rows);
    assert.deepEqual(ids(rows), [1, 2, 3]);
    assert.equal(issued, 3, 'refreshed once after the 401');
    assert.equal(redact('at-3-xyz cs-secret-1'), '*** ***');
  });
});

describe('faults', () => {
  const items = () => ({ name: 'items', path: '/items/', paginate: { type: 'offset', limit: 50 }, primary_key: ['id'] });

  test('429 with Retry-After is honoured (the wait is measured)', async () => {
    let first = true;
    const times: number[] = [];
    const s = await serve({
      route: offsetRoute(100),
      fault: () => {
        times.push(performance.now());
        if (first) {
          first = false;
          return { kind: 'status', status: 429, retryAfter: '1' };
        }
        return undefined;
      },
    });
    const r = await read({ base_url: s.url, ...fast, rate_limit: { concurrency: 1 }, streams: [items()] });
    assert.deepEqual(ids(r.rows), range(100));
    assert.ok(times[1] - times[0] >= 990, `retried after ${Math.round(times[1] - times[0])} ms`);
  });

  test('a 429 Retry-After pauses the whole host, not only the request that got it', async () => {
    const arrivals: { at: number; offset: string | null; throttled: boolean }[] = [];
    const s = await serve({
      route: async (req) => {
        await new Promise((r) => setTimeout(r, 20));
        return offsetRoute(2000)(req);
      },
      fault: (req) => {
        const throttled = req.url.searchParams.get('offset') === '150' && !arrivals.some((a) => a.throttled);
        arrivals.push({ at: performance.now(), offset: req.url.searchParams.get('offset'), throttled });
        return throttled ? { kind: 'status', status: 429, retryAfter: '1' } : undefined;
      },
    });
    const r = await read({ base_url: s.url, ...fast, rate_limit: { concurrency: 3 }, streams: [{ ...items(), paginate: { type: 'offset', limit: 50, max_pages: 12 } }] });
    assert.equal(r.rows.length, 600);
    const t429 = arrivals.find((a) => a.throttled)!.at;
    // Requests already on their way when the 429 left may still arrive (late, when the machine is loaded); after
    // that, silence for the second asked. Unpaused, requests would arrive every few ms of that window.
    const during = arrivals.filter((a) => a.at > t429 + 200 && a.at < t429 + 950);
    assert.deepEqual(during, [], 'no request while the host is paused');
    assert.ok(arrivals.some((a) => a.at >= t429 + 1000), 'requests resumed after the pause');
  });

  test('503 with an HTTP-date Retry-After is honoured', async () => {
    let n = 0;
    const times: number[] = [];
    const s = await serve({
      route: offsetRoute(10),
      fault: () => {
        times.push(performance.now());
        return n++ === 0 ? { kind: 'status', status: 503, retryAfter: new Date(Date.now() + 2000).toUTCString() } : undefined;
      },
    });
    const r = await read({ base_url: s.url, ...fast, rate_limit: { concurrency: 1 }, streams: [items()] });
    assert.equal(r.rows.length, 10);
    // HTTP dates have one-second resolution: the wait is between 1 and 2 s.
    assert.ok(times[1] - times[0] >= 990, `retried after ${Math.round(times[1] - times[0])} ms`);
  });

  test('500s, timeouts, truncated bodies, malformed JSON and dropped sockets are retried: every record exactly once', async () => {
    const plan: Fault[] = [
      { kind: 'status', status: 500 }, { kind: 'slow', ms: 600 }, { kind: 'truncate' }, { kind: 'malformed' },
      { kind: 'drop' }, { kind: 'status', status: 502 }, { kind: 'status', status: 504 },
    ];
    const seen = new Map<string, number>();
    const s = await serve({
      route: offsetRoute(300),
      fault: (req) => {
        // The first attempt of each page gets the next fault of the plan; retries succeed.
        const key = req.url.search;
        const k = seen.get(key) ?? 0;
        seen.set(key, k + 1);
        return k === 0 ? plan.shift() : undefined;
      },
    });
    const r = await read({ base_url: s.url, ...fast, timeout_ms: 300, streams: [items()] });
    assert.deepEqual(ids(r.rows), range(300));
    assert.equal(plan.length, 0, 'every fault was served');
    assert.equal(s.stats.faults, 7);
  });

  test('retries exhausted: the run fails with a clear error naming the URL and the cause, never skipping the page', async () => {
    const s = await serve({ route: offsetRoute(100), fault: (req) => (req.url.searchParams.get('offset') === '50' ? { kind: 'malformed' } : undefined) });
    await assert.rejects(read({ base_url: s.url, ...fast, retry: { attempts: 3, initial_ms: 1, max_ms: 5 }, streams: [items()] }),
      (e: Error) => /GET http:\/\/127\.0\.0\.1:\d+\/items\/\?limit=50&offset=50 failed after 3 attempt\(s\): malformed JSON/.test(e.message));
    const t = await serve({ route: offsetRoute(100), fault: () => ({ kind: 'truncate' }) });
    await assert.rejects(read({ base_url: t.url, retry: { attempts: 2, initial_ms: 1, max_ms: 5 }, streams: [items()] }), /truncated body/);
  });

  test('a 4xx fails at once without retries', async () => {
    const s = await serve({ route: () => ({ status: 404, body: { detail: 'Not found.' } }) });
    await assert.rejects(read({ base_url: s.url, ...fast, streams: [items()] }), /answered HTTP 404: \{"detail":"Not found\."\}/);
    assert.equal(s.stats.requests, 1);
  });

  test('the circuit breaker opens after N consecutive failures and stops calling the host', async () => {
    const s = await serve({ route: offsetRoute(100), fault: () => ({ kind: 'status', status: 500 }) });
    const t0 = performance.now();
    await assert.rejects(read({
      base_url: s.url, retry: { attempts: 8, initial_ms: 1, max_ms: 5 }, circuit_breaker: { failures: 3, reset_ms: 60_000 },
      rate_limit: { concurrency: 1 }, streams: [items()],
    }), /circuit breaker open for 127\.0\.0\.1:\d+ after 3 consecutive failures \(last: HTTP 500\); the circuit stays open for another 60 s/);
    assert.equal(s.stats.requests, 3, 'the fourth attempt failed fast');
    assert.ok(performance.now() - t0 < 5000);
  });

  test('an open circuit lets one probe through after reset_ms; a healthy probe closes it', async () => {
    let failing = 3;
    const s = await serve({ route: offsetRoute(100), fault: () => (failing-- > 0 ? { kind: 'status', status: 500 } : undefined) });
    const r = await read({
      base_url: s.url, retry: { attempts: 6, initial_ms: 1, max_ms: 500 }, circuit_breaker: { failures: 3, reset_ms: 200 },
      rate_limit: { concurrency: 1 }, streams: [{ ...items(), prefetch_pages: 1 }],
    });
    assert.deepEqual(ids(r.rows), range(100));
    assert.equal(s.stats.requests, 3 + 3, 'three failures, then the probe and two more pages');
  });

  test('the rate limit is never exceeded as the server sees it, retries included', async () => {
    let n = 0;
    const s = await serve({
      route: offsetRoute(1000),
      limit: { requestsPerSecond: 25, concurrency: 3 },
      fault: () => (++n % 5 === 0 ? { kind: 'status', status: 500 } : undefined),
    });
    const t0 = performance.now();
    const r = await read({
      base_url: s.url, ...fast, rate_limit: { requests_per_second: 25, concurrency: 3 },
      streams: [{ name: 'items', path: '/items/', paginate: { type: 'offset', limit: 20 } }],
    });
    const seconds = (performance.now() - t0) / 1000;
    assert.deepEqual(ids(r.rows), range(1000));
    assert.equal(s.stats.overLimit, 0, 'the server never had to refuse a request');
    // The ceiling is exact; the floor only shows the limiter is not far too cautious (its tokens come back a window
    // after each answer, which a loaded machine delivers late).
    assert.ok(s.stats.peakPerSecond <= 25 && s.stats.peakPerSecond >= 15, `peak ${s.stats.peakPerSecond}/s`);
    assert.ok(s.stats.peakConcurrency <= 3);
    assert.ok(s.stats.requests > 51 && seconds >= 2, `${s.stats.requests} requests in ${seconds} s`);
  });
});
