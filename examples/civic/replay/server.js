#!/usr/bin/env node
// Replay server for the civic example: serves recorded OpenParliament and Represent responses on loopback with the
// real APIs' envelopes and pagination, so the pipeline runs offline and unchanged against either.
//
//   node examples/civic/replay/server.js [port]     (default 8787; 0 picks a free port) → prints its base URL
//
// Both APIs share one server: their paths do not overlap. What the real servers do, and this one copies (see the
// README of this folder for sources):
// - OpenParliament: `{objects, pagination: {offset, limit, next_url, previous_url}}`, relative next/previous URLs
//   that keep the other query parameters, no total count, default limit 20 (politicians 338), max 500 (clamped),
//   `limit=0` = default, bad limit/offset → 400 text/plain, header `API-Version: v1`, non-ASCII as \uXXXX,
//   unknown filters silently ignored.
// - Represent: `{objects, meta: {offset, limit, total_count, previous, next}}`, default limit 20, `limit=0` or
//   above 1000 → 1000, negative or non-integer → 400 text/plain, CORS `*`.
// A verbatim recorded page is replayed byte for byte when a request asks for exactly that page (same limit and
// offset, no filter); any other request is answered from the recorded objects in their recorded order, so the
// bills repeated across the recorded pages repeat at any page size, as offset pagination over an unstable sort does.
import { Buffer } from 'node:buffer';
import console from 'node:console';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { URL, URLSearchParams, fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const DATA = join(here, 'data');

const readJson = (file) => JSON.parse(readFileSync(join(DATA, file), 'utf8'));

/** A recorded page, kept as its exact bytes, with the request it answers. */
function verbatim(file) {
  const text = readFileSync(join(DATA, file), 'utf8');
  const body = JSON.parse(text);
  return { text, offset: body.pagination.offset, limit: body.pagination.limit, objects: body.objects };
}

/** Python's `json.dumps` (ensure_ascii): everything outside ASCII as \uXXXX, as OpenParliament sends it. */
const pythonJson = (value) =>
  JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

function loadOpenParliament() {
  const op = (f) => `openparliament/${f}`;
  const billPages = readdirSync(join(DATA, 'openparliament')).filter((f) => /^bills-p\d+\.json$/.test(f)).sort().map((f) => verbatim(op(f)));
  const votesPage = verbatim(op('votes_list_offset0_limit20.json'));
  const ballotsPage = verbatim(op('ballots_list_offset0_limit20.json'));
  // Politician detail pages: verbatim (`politician_detail_<slug>.json`) or hand-made (`politician_generated_<slug>.json`).
  const details = new Map(readdirSync(join(DATA, 'openparliament')).map((f) => [f, /^politician_(?:detail|generated)_(.+)\.json$/.exec(f)])
    .filter(([, m]) => m).map(([f, m]) => {
      const text = readFileSync(join(DATA, op(f)), 'utf8');
      // Verbatim pages go out as recorded; hand-made ones (readable files) as the server would print them.
      return [`/politicians/${m[1]}/`, f.startsWith('politician_detail_') ? text : pythonJson(JSON.parse(text))];
    }));
  return {
    details,
    // path → { objects (recorded order), pages (verbatim), filters (query parameter → object field), defaultLimit }
    lists: {
      '/politicians/': { objects: readJson(op('politicians.json')), pages: [], filters: { name: 'name' }, defaultLimit: 338 },
      '/bills/': { objects: billPages.flatMap((p) => p.objects), pages: billPages, filters: { session: 'session', number: 'number', legisinfo_id: 'legisinfo_id', introduced: 'introduced' } },
      '/votes/': { objects: [...votesPage.objects, ...readJson(op('votes-extra.json'))], pages: [votesPage], filters: { session: 'session', number: 'number', bill: 'bill_url', result: 'result', date: 'date' } },
      '/votes/ballots/': { objects: [...ballotsPage.objects, ...readJson(op('ballots-extra.json'))], pages: [ballotsPage], filters: { vote: 'vote_url', politician: 'politician_url', politician_membership: 'politician_membership_url', ballot: 'ballot' } },
      '/debates/': { objects: readJson(op('debates.json')), pages: [], filters: { date: 'date', number: 'number' } },
      '/committees/': { objects: readJson(op('committees.json')), pages: [], filters: {} },
    },
  };
}

function loadRepresent() {
  const sets = readJson('represent/representative-sets.json');
  const reps = readJson('represent/representatives.json');
  return { sets, reps };
}

const PAGING = new Set(['limit', 'offset', 'format']);

/** `path?other params&limit=L&offset=O`, the other parameters kept in their order (as the real servers build it). */
function pageUrl(path, query, limit, offset) {
  const params = new URLSearchParams();
  for (const [k, v] of query) if (k !== 'limit' && k !== 'offset') params.append(k, v);
  params.append('limit', String(limit));
  params.append('offset', String(offset));
  return `${path}?${params}`;
}

/** A query parameter as a non-negative integer; undefined when absent; null when malformed (→ 400). */
function intParam(query, name) {
  const v = query.get(name);
  if (v === null) return undefined;
  return /^\d+$/.test(v) ? Number(v) : null;
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

function openParliament(op, url, res) {
  const headers = { 'API-Version': 'v1', 'Content-Type': 'application/json' };
  const text = (status, msg) => send(res, status, msg, { 'API-Version': 'v1', 'Content-Type': 'text/plain' });
  const detail = op.details.get(url.pathname);
  if (detail) return send(res, 200, detail, headers);
  const list = op.lists[url.pathname];
  if (!list) return false;
  const q = url.searchParams;
  let limit = intParam(q, 'limit');
  const offset = intParam(q, 'offset') ?? 0;
  if (limit === null || offset === null) return text(400, 'Invalid limit or offset');
  const defaultLimit = list.defaultLimit ?? 20;
  limit = !limit ? defaultLimit : Math.min(limit, 500);
  const filters = [...q].filter(([k]) => !PAGING.has(k) && list.filters[k]);
  if (filters.length === 0) {
    const page = list.pages.find((p) => p.limit === limit && p.offset === offset);
    if (page) return send(res, 200, page.text, headers);
  }
  const matching = filters.length
    ? list.objects.filter((o) => filters.every(([k, v]) => String(o[list.filters[k]]) === v))
    : list.objects;
  // Like the real server: fetch limit+1 rows; a next page exists when the extra row came back.
  const rows = matching.slice(offset, offset + limit + 1);
  const body = {
    objects: rows.slice(0, limit),
    pagination: {
      offset, limit,
      next_url: rows.length > limit ? pageUrl(url.pathname, q, limit, offset + limit) : null,
      previous_url: offset > 0 ? pageUrl(url.pathname, q, limit, Math.max(0, offset - limit)) : null,
    },
  };
  return send(res, 200, pythonJson(body), headers);
}

function represent(rp, url, res) {
  const headers = { 'Content-Type': 'application/json; charset=utf-8', 'Access-Control-Allow-Origin': '*' };
  const text = (status, msg) => send(res, status, msg, { 'Content-Type': 'text/plain' });
  const path = url.pathname;
  let objects;
  const setDetail = /^\/representative-sets\/([^/]+)\/$/.exec(path);
  const repsOfSet = /^\/representatives\/([^/]+)\/$/.exec(path);
  if (path === '/representative-sets/') objects = rp.sets;
  else if (setDetail) {
    const set = rp.sets.find((s) => s.url === path);
    return set ? send(res, 200, JSON.stringify(set), headers) : text(404, 'Not Found');
  } else if (path === '/representatives/') objects = rp.reps;
  else if (repsOfSet) {
    const setUrl = `/representative-sets/${repsOfSet[1]}/`;
    if (!rp.sets.some((s) => s.url === setUrl)) return text(404, 'Not Found');
    objects = rp.reps.filter((r) => r.related.representative_set_url === setUrl);
  } else return false;
  const q = url.searchParams;
  // Whitelisted filters only (exact match); anything else is ignored, as the real server does.
  for (const f of ['name', 'first_name', 'last_name', 'gender', 'district_name', 'elected_office', 'party_name']) {
    const v = q.get(f);
    if (v !== null && path.startsWith('/representatives/')) objects = objects.filter((o) => o[f] === v);
  }
  const rawLimit = q.get('limit');
  const rawOffset = q.get('offset');
  if ((rawLimit !== null && !/^\d+$/.test(rawLimit)) || (rawOffset !== null && !/^\d+$/.test(rawOffset))) return text(400, 'Invalid limit or offset');
  let limit = rawLimit === null ? 20 : Number(rawLimit);
  if (!limit || limit > 1000) limit = 1000;
  const offset = rawOffset === null ? 0 : Number(rawOffset);
  const total = objects.length;
  const body = {
    objects: objects.slice(offset, offset + limit),
    meta: {
      offset, limit, total_count: total,
      previous: offset - limit >= 0 ? pageUrl(path, q, limit, offset - limit) : null,
      next: offset + limit < total ? pageUrl(path, q, limit, offset + limit) : null,
    },
  };
  return send(res, 200, JSON.stringify(body), headers);
}

/**
 * Start the replay server. `port` 0 picks a free one. Resolves with `{ url, requests, close }`; `requests` counts
 * the requests served, by path.
 */
export async function startReplayServer({ port = 8787, host = '127.0.0.1' } = {}) {
  const op = loadOpenParliament();
  const rp = loadRepresent();
  const requests = new Map();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://replay.invalid');
    requests.set(url.pathname, (requests.get(url.pathname) ?? 0) + 1);
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method Not Allowed', { 'Content-Type': 'text/plain' });
    try {
      if (openParliament(op, url, res) === false && represent(rp, url, res) === false) send(res, 404, 'Not Found', { 'Content-Type': 'text/plain' });
    } catch (e) {
      send(res, 500, `replay server error: ${e instanceof Error ? e.message : String(e)}`, { 'Content-Type': 'text/plain' });
    }
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, resolve);
  });
  const address = server.address();
  return {
    url: `http://${host}:${address.port}`,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections?.();
      server.close(() => resolve());
    }),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const port = process.argv[2] === undefined ? 8787 : Number(process.argv[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`usage: node server.js [port]  (got ${process.argv[2]})`);
    process.exit(2);
  }
  const s = await startReplayServer({ port });
  // The first line of stdout is the base URL (a test or script reads it when it asked for port 0).
  console.log(s.url);
  const stop = () => { void s.close().then(() => process.exit(0)); };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
