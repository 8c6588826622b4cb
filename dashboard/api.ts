// Same-origin fetches with the session cookie. The CSRF token from /api/session goes with every state-changing
// request; a 401 anywhere means the session is gone, so the app is told to show the login form; other errors go to
// the banner unless the caller expects them (an endpoint an older server does not have answers 404).
import type { Session } from './types.js';

export class ApiError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

interface Handlers { unauthorized(): void; error(message: string): void }
let handlers: Handlers = { unauthorized() {}, error() {} };
let csrf = '';

export function onApiEvents(h: Handlers): void {
  handlers = h;
}

async function request<T>(method: string, path: string, body: unknown, quiet: number[]): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (method !== 'GET') Object.assign(headers, { 'content-type': 'application/json', 'x-csrf-token': csrf });
  let res: Response;
  try {
    res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    const message = `${method} ${path}: the server did not answer (${e instanceof Error ? e.message : String(e)})`;
    handlers.error(message);
    throw new ApiError(0, message);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  if (res.ok) return data as T;
  const detail = data && typeof data === 'object' && typeof (data as { error?: unknown }).error === 'string'
    ? (data as { error: string }).error : `${res.status} ${res.statusText}`;
  const err = new ApiError(res.status, detail);
  if (res.status === 401 && !path.startsWith('/login')) handlers.unauthorized();
  else if (!quiet.includes(res.status)) handlers.error(`${method} ${path}: ${detail}`);
  throw err;
}

export const get = <T>(path: string, quiet: number[] = []): Promise<T> => request<T>('GET', path, undefined, quiet);
export const post = <T>(path: string, body: unknown = {}): Promise<T> => request<T>('POST', path, body, []);
export const del = <T>(path: string): Promise<T> => request<T>('DELETE', path, undefined, []);

export async function loadSession(): Promise<Session> {
  const s = await get<Session>('/api/session');
  csrf = s.csrf;
  return s;
}

/** The token is checked by the server, which answers with the cookie; a wrong one is the form's error, not the banner's. */
export async function login(token: string): Promise<Session> {
  await request<void>('POST', '/login', { token }, [401]);
  return loadSession();
}

export async function logout(): Promise<void> {
  await post<void>('/logout');
  csrf = '';
}

/** A query string from the set values only. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? `?${s}` : '';
}

export const enc = encodeURIComponent;
