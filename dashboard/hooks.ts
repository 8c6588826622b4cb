// Hash routing and polled fetches: the two pieces of state every page shares.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, qs } from './api.js';

export interface Route { parts: string[]; query: URLSearchParams }

function parseHash(): Route {
  const h = location.hash.replace(/^#\/?/, '');
  const [path = '', query = ''] = h.split('?', 2);
  return { parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(parseHash);
  useEffect(() => {
    const on = () => setRoute(parseHash());
    addEventListener('hashchange', on);
    return () => removeEventListener('hashchange', on);
  }, []);
  return route;
}

/** A link target: each path segment encoded, so a name with a slash or a `#` stays one segment. */
export const href = (segments: string[], query: Record<string, string | undefined> = {}): string =>
  '#/' + segments.map(encodeURIComponent).join('/') + qs(query);

export interface Fetched<T> { data: T | undefined; error: ApiError | undefined; reload(): void }

/**
 * GET `path`, again `every` ms after each answer (0: once). The next poll waits for the answer, so a slow server
 * is never asked twice at once; an answer for a path the page has left is dropped.
 */
export function useApi<T>(path: string | null, every = 0, quiet: number[] = []): Fetched<T> {
  const [state, setState] = useState<{ path: string | null; data?: T; error?: ApiError }>({ path });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    if (!path) return;
    let live = true;
    let timer: number | undefined;
    let last = '';
    const load = async () => {
      // A hidden tab skips its polls, and fetches again as soon as it is looked at.
      if (every > 0 && document.hidden) {
        timer = window.setTimeout(load, 500);
        return;
      }
      try {
        const data = await get<T>(path, quiet);
        // An unchanged answer keeps the old object, so charts and memos built on it are not rebuilt every poll.
        const text = JSON.stringify(data);
        if (live && text !== last) setState({ path, data });
        last = text;
      } catch (e) {
        last = '';
        // The last good data stays on screen beside the banner: a blip does not blank the page.
        if (live) setState((s) => ({ path, data: s.path === path ? s.data : undefined, error: e as ApiError }));
      }
      if (live && every > 0) timer = window.setTimeout(load, every);
    };
    void load();
    return () => {
      live = false;
      clearTimeout(timer);
    };
    // Not `quiet`: it is a literal at each call site, so comparing it by identity would refetch on every render.
  }, [path, every, tick]);
  const mine = state.path === path;
  return { data: mine ? state.data : undefined, error: mine ? state.error : undefined, reload: () => setTick((t) => t + 1) };
}

/** The current time, re-read every `ms`, so "3m ago" stays true on a page that does not refetch. */
export function useNow(ms = 5000): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}
