import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffMs, parseRetryAfter } from '../../src/http/backoff.js';
import { CircuitBreaker } from '../../src/http/circuit-breaker.js';
import { HostLimiter, WINDOW_GUARD_MS } from '../../src/http/host-limiter.js';
import { fillPath, joinUrl, recordsOf, valueAt } from '../../src/http/json-path.js';
import { SeenKeys } from '../../src/http/seen-keys.js';
import { linkRel } from '../../src/connectors/rest/rest-paginate.js';

test('backoff: full jitter under an exponential cap that stops at max_ms', () => {
  const policy = { initial_ms: 100, max_ms: 1000 };
  assert.equal(backoffMs(policy, 1, () => 0.999999), 100);
  assert.equal(backoffMs(policy, 3, () => 0.999999), 400);
  assert.equal(backoffMs(policy, 10, () => 0.999999), 1000);
  assert.equal(backoffMs(policy, 3, () => 0), 0);
  assert.equal(backoffMs(policy, 3, () => 0.5), 200);
});

test('Retry-After: delay-seconds and HTTP dates', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('2', now), 2000);
  assert.equal(parseRetryAfter(' 0 ', now), 0);
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now), 5000);
  assert.equal(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter('soon', now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

test('host limiter: concurrency is never exceeded and the rate holds over any window', async () => {
  const limiter = new HostLimiter({ requests_per_second: 20, concurrency: 3 });
  const spans: [number, number][] = [];
  let active = 0;
  let peak = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 45 }, async (_, i) => {
    const release = await limiter.acquire();
    const start = performance.now();
    active++;
    peak = Math.max(peak, active);
    await new Promise((r) => setTimeout(r, 2 + (i % 4) * 5));
    active--;
    spans.push([start, performance.now()]);
    release();
  }));
  const elapsed = performance.now() - t0;
  assert.equal(peak, 3);
  // 45 requests, 20 tokens, each back a window after its request finished: at least two full windows.
  assert.ok(elapsed >= 2 * (1000 + WINDOW_GUARD_MS) - 5, `took ${elapsed} ms`);
  // Wherever in its span (admitted → finished) a request reaches a server, no 1-second window holds more than 20.
  // The worst window starts where some request finished; count every span that could reach a server inside it.
  for (const [, w] of spans) {
    const inside = spans.filter(([start, finish]) => finish >= w && start <= w + 1000).length;
    assert.ok(inside <= 20, `${inside} requests could land in the window from ${w}`);
  }
});

test('host limiter: a pause holds every request to the host; an aborted wait leaves the queue', async () => {
  const limiter = new HostLimiter({ concurrency: 1 });
  limiter.pause(150);
  const t0 = performance.now();
  const release = await limiter.acquire();
  assert.ok(performance.now() - t0 >= 145);
  const ac = new AbortController();
  const waiting = limiter.acquire(ac.signal);
  ac.abort(new Error('gone'));
  await assert.rejects(waiting, /gone/);
  release();
  const again = await limiter.acquire();
  assert.equal(limiter.running, 1);
  again();
});

test('circuit breaker: opens after N consecutive failures, half-opens for one probe, closes on success', async () => {
  const b = new CircuitBreaker({ failures: 3, reset_ms: 60 });
  b.failure();
  b.failure();
  b.success();
  b.failure();
  b.failure();
  assert.equal(b.admit().ok, true);
  assert.equal(b.failure(), true);
  assert.equal(b.state, 'open');
  assert.equal(b.admit().ok, false);
  await new Promise((r) => setTimeout(r, 70));
  assert.equal(b.admit().ok, true, 'probe');
  assert.equal(b.admit().ok, false, 'only one probe');
  assert.equal(b.failure(), true, 'a failed probe re-opens');
  await new Promise((r) => setTimeout(r, 70));
  assert.equal(b.admit().ok, true);
  b.success();
  assert.equal(b.state, 'closed');
  assert.equal(b.admit().ok, true);
});

test('json paths, records, templates and URL joining', () => {
  const body = { pagination: { next_url: '/bills/?offset=20' }, objects: [{ a: 1 }], meta: { n: 0 } };
  assert.equal(valueAt(body, 'pagination.next_url'), '/bills/?offset=20');
  assert.equal(valueAt(body, 'pagination.x.y'), undefined);
  assert.deepEqual(recordsOf(body, undefined), [{ a: 1 }]);
  assert.deepEqual(recordsOf([{ b: 2 }], undefined), [{ b: 2 }]);
  assert.deepEqual(recordsOf({ data: null }, 'data'), []);
  assert.match(recordsOf(body, 'missing') as string, /no `missing`/);
  assert.equal(fillPath('/votes/ballots/?vote={{parent.url}}', { parent: { url: '/votes/41-1/760/' } }), '/votes/ballots/?vote=%2Fvotes%2F41-1%2F760%2F');
  assert.equal(fillPath('{{parent.url}}', { parent: { url: '/bills/41-1/C-54/' } }), '/bills/41-1/C-54/');
  assert.equal(fillPath('/x/{{parent.id}}', { parent: {} }), undefined);
  assert.equal(joinUrl('http://h/api/v1/', '/bills/').toString(), 'http://h/api/v1/bills/');
  assert.equal(joinUrl('http://h/api', 'https://other/x').toString(), 'https://other/x');
});

test('RFC 8288 Link header', () => {
  const h = '<https://api.example.com/items?page=3>; rel="next", <https://api.example.com/items?page=9>; rel="last"';
  assert.equal(linkRel(h, 'next'), 'https://api.example.com/items?page=3');
  assert.equal(linkRel(h, 'last'), 'https://api.example.com/items?page=9');
  assert.equal(linkRel('</p2>; rel=next', 'next'), '/p2');
  assert.equal(linkRel('</p2>; title="x"; rel="prev next"', 'next'), '/p2');
  assert.equal(linkRel(h, 'prev'), undefined);
  assert.equal(linkRel(null, 'next'), undefined);
});

test('seen keys: first sighting only, long keys hashed', () => {
  const s = new SeenKeys(['url']);
  assert.equal(s.first({ url: '/bills/37-1/C-2/' }), true);
  assert.equal(s.first({ url: '/bills/37-1/C-2/' }), false);
  const long = 'x'.repeat(500);
  assert.equal(s.first({ url: long }), true);
  assert.equal(s.first({ url: long }), false);
  assert.equal(s.first({ url: null }), true);
  assert.equal(s.first({ url: null }), true);
  assert.equal(s.duplicates, 2);
  assert.equal(s.size, 2);
});

test('credential headers are registered as secrets', async () => {
  const { registerSecretHeaders } = await import('../../src/http/auth.js');
  const { redact } = await import('../../src/core/redact.js');
  registerSecretHeaders({ Authorization: 'Bearer hdr-secret-991', 'X-API-Key': 'hdr-key-552', Accept: 'application/json' });
  assert.equal(redact('a hdr-secret-991 b hdr-key-552'), 'a *** b ***');
  assert.equal(redact('application/json'), 'application/json');
});
