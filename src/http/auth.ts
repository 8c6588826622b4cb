// Request authentication. Every secret is registered with redact() when the source is built, and so is every OAuth2
// access token as it arrives, so none can reach a log line, an error, the run ledger or the DLQ.
import { RunError } from '../core/errors.js';
import { SECRET_KEY, registerSecret } from '../core/redact.js';
import type { AuthConfig } from './http-options.js';

/** What a request needs from auth: headers to add and query parameters to add (never shown in positions or errors). */
export interface Credentials {
  headers: Record<string, string>;
  query: Record<string, string>;
}

export interface TokenResponse {
  access_token: string;
  expires_in?: number;
}

/** Fetches a token (through the same retrying, rate-limited machinery as every other request). */
export type TokenFetcher = (url: URL, body: URLSearchParams, headers: Record<string, string>) => Promise<unknown>;

/** Refresh a cached token this long before the server says it expires: clocks and queues are not exact. */
const EXPIRY_SKEW_MS = 30_000;

export class Auth {
  private token: { value: string; expiresAt: number } | undefined;
  private pending: Promise<string> | undefined;

  constructor(private readonly config: AuthConfig | undefined, private readonly fetchToken: TokenFetcher) {
    registerAuthSecrets(config);
  }

  get refreshable(): boolean {
    return this.config?.type === 'oauth2';
  }

  async credentials(signal?: AbortSignal): Promise<Credentials> {
    const c = this.config;
    if (!c) return { headers: {}, query: {} };
    switch (c.type) {
      case 'bearer':
        return { headers: { authorization: `Bearer ${c.token}` }, query: {} };
      case 'api_key':
        return c.in === 'query' ? { headers: {}, query: { [c.name]: c.value } } : { headers: { [c.name]: c.value }, query: {} };
      case 'basic':
        return { headers: { authorization: `Basic ${basic(c.username, c.password)}` }, query: {} };
      case 'oauth2':
        return { headers: { authorization: `Bearer ${await this.accessToken(signal)}` }, query: {} };
    }
  }

  /** A 401 with the token `used`: forget it (unless another request already replaced it) so the next one is fresh. */
  invalidate(used: Credentials): void {
    if (this.token && used.headers.authorization === `Bearer ${this.token.value}`) this.token = undefined;
  }

  private accessToken(signal?: AbortSignal): Promise<string> {
    if (this.token && Date.now() < this.token.expiresAt) return Promise.resolve(this.token.value);
    // One token request at a time: concurrent requests share it.
    this.pending ??= this.requestToken(signal).finally(() => {
      this.pending = undefined;
    });
    return this.pending;
  }

  private async requestToken(_signal?: AbortSignal): Promise<string> {
    const c = this.config as Extract<AuthConfig, { type: 'oauth2' }>;
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (c.client_auth === 'basic') headers.authorization = `Basic ${basic(c.client_id, c.client_secret)}`;
    else {
      body.set('client_id', c.client_id);
      body.set('client_secret', c.client_secret);
    }
    if (c.scopes?.length) body.set('scope', c.scopes.join(' '));
    if (c.audience) body.set('audience', c.audience);
    const answer = await this.fetchToken(new URL(c.token_url), body, headers) as Partial<TokenResponse> | null;
    const value = answer?.access_token;
    if (typeof value !== 'string' || !value) throw new RunError(`OAuth2 token endpoint ${c.token_url} answered without an access_token`);
    registerSecret(value);
    const ttlMs = typeof answer?.expires_in === 'number' ? answer.expires_in * 1000 : 3600_000;
    // A very short-lived token is still used once rather than refreshed forever.
    this.token = { value, expiresAt: Date.now() + Math.max(ttlMs - EXPIRY_SKEW_MS, ttlMs / 2) };
    return value;
  }
}

const basic = (user: string, password: string): string => Buffer.from(`${user}:${password}`).toString('base64');

export function registerAuthSecrets(config: AuthConfig | undefined): void {
  if (!config) return;
  if (config.type === 'bearer') registerSecret(config.token);
  if (config.type === 'api_key') registerSecret(config.value);
  if (config.type === 'basic') {
    registerSecret(config.password);
    registerSecret(basic(config.username, config.password));
  }
  if (config.type === 'oauth2') {
    registerSecret(config.client_secret);
    registerSecret(basic(config.client_id, config.client_secret));
  }
}

/** Header values that carry credentials (`Authorization`, `X-API-Key`, `X-Auth-Token`, …) are secrets too. */
export function registerSecretHeaders(headers: Record<string, string> | undefined): void {
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (SECRET_KEY.test(name)) {
      registerSecret(value);
      // `Bearer abc…`: the credential alone must be masked too, wherever it shows up without its scheme.
      registerSecret(value.replace(/^(bearer|basic|token)\s+/i, ''));
    }
  }
}
