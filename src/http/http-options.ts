// Connection keys shared by every HTTP-based source (rest, graphql): auth, rate limit, retries, timeouts, circuit
// breaker. Each spec spreads these beside its own keys, so the docs and the validation are the same everywhere.
import { z } from 'zod';

const secret = (what: string) => z.string().min(1).describe(`${what}. A secret: masked in logs, errors, run records and the DLQ; write it as \`\${ENV_VAR}\`.`);

export const authSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('bearer'),
    token: secret('Token sent as `Authorization: Bearer <token>`'),
  }),
  z.strictObject({
    type: z.literal('api_key'),
    in: z.enum(['header', 'query']).default('header').describe('Where the key goes: a request header or a query parameter.'),
    name: z.string().min(1).describe('Header or query parameter name, e.g. `X-API-Key` or `api_key`.'),
    value: secret('The API key'),
  }),
  z.strictObject({
    type: z.literal('basic'),
    username: z.string().describe('User name for HTTP Basic authentication.'),
    password: secret('Password for HTTP Basic authentication'),
  }),
  z.strictObject({
    type: z.literal('oauth2'),
    token_url: z.url().describe('OAuth2 token endpoint; the client-credentials grant is used.'),
    client_id: z.string().min(1).describe('OAuth2 client id.'),
    client_secret: secret('OAuth2 client secret'),
    scopes: z.array(z.string().min(1)).optional().describe('Scopes requested (sent space-separated as `scope`).'),
    audience: z.string().optional().describe('`audience` parameter some providers require.'),
    client_auth: z.enum(['body', 'basic']).default('body')
      .describe('How the client authenticates to the token endpoint: `client_id`/`client_secret` form fields (`body`) or HTTP Basic (`basic`).'),
  }).describe('The token is cached until shortly before `expires_in`, fetched again when it expires or a request gets 401.'),
]).describe('How requests authenticate: `{type: bearer, token}`, `{type: api_key, in: header|query, name, value}`, `{type: basic, username, password}` or `{type: oauth2, token_url, client_id, client_secret, scopes, audience, client_auth}` (client credentials; the token is cached and fetched again on expiry or a 401).');

export type AuthConfig = z.output<typeof authSchema>;

export const httpConnectionKeys = {
  headers: z.record(z.string(), z.string()).default({})
    .describe('Headers sent with every request (stream `headers` add to and override them).'),
  auth: authSchema.optional(),
  rate_limit: z.strictObject({
    requests_per_second: z.number().positive().optional()
      .describe('Most requests started in any one-second window, per host, retries included. Unlimited when omitted.'),
    concurrency: z.int().min(1).default(4)
      .describe('Most requests in flight at once, per host, retries included. Offset and page pagination fetch this many pages ahead.'),
  }).default({ concurrency: 4 })
    .describe('`{requests_per_second, concurrency}`: per-host limits shared by every stream of the source; never exceeded, whatever the retries. A `429`/`503` with `Retry-After` pauses the whole host for that long.'),
  retry: z.strictObject({
    attempts: z.int().min(1).default(6).describe('Attempts per request in all, the first included.'),
    initial_ms: z.int().min(0).default(250).describe('Backoff cap of the first retry; it doubles per retry (full jitter: the wait is random between 0 and the cap).'),
    max_ms: z.int().min(0).default(30000).describe('Largest backoff cap.'),
    max_retry_after_ms: z.int().min(0).default(300000).describe('A `Retry-After` longer than this fails the run instead of waiting.'),
  }).default({ attempts: 6, initial_ms: 250, max_ms: 30000, max_retry_after_ms: 300000 })
    .describe('`{attempts, initial_ms, max_ms, max_retry_after_ms}`: retries of transient failures: 5xx, 408, 429, timeouts, connection resets, truncated or malformed bodies. Other 4xx fail at once.'),
  timeout_ms: z.int().min(1).default(30000).describe('Time limit of one attempt, from sending the request to the last byte of the body.'),
  circuit_breaker: z.strictObject({
    failures: z.int().min(1).default(10).describe('Consecutive transient failures on one host that open the circuit.'),
    reset_ms: z.int().min(1).default(5000).describe('How long an open circuit fails requests fast before one probe request is let through.'),
  }).default({ failures: 10, reset_ms: 5000 })
    .describe('`{failures, reset_ms}`: per-host circuit breaker; while open, attempts fail without reaching the server (they still count against `retry.attempts`).'),
};

export const httpConnectionOptions = z.object(httpConnectionKeys);
export type HttpConnectionOptions = z.output<typeof httpConnectionOptions>;
