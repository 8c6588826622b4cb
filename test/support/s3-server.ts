// A real S3-compatible server on loopback for tests and benches: s3rver (objects on disk under a temp directory; it
// knows one access key id, S3RVER, and does not verify SigV4 signatures), which the AWS SDK talks to over HTTP exactly as to S3. Two behaviours of AWS
// that s3rver lacks are added in front of it, answered as S3 answers them: a bucket that lives in another region
// (301 with `x-amz-bucket-region` on HEAD, 400 AuthorizationHeaderMalformed naming the region otherwise), and a
// bucket whose policy denies writes (403 AccessDenied on every PUT, POST and DELETE).
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { after, before } from 'node:test';

const require = createRequire(import.meta.url);

export const S3_KEY = 'S3RVER';
export const S3_SECRET = 'S3RVER';

export interface S3ServerOptions {
  buckets: string[];
  /** bucket → the region it lives in (others answer for any region). */
  regions?: Record<string, string>;
  /** Buckets that refuse writes. */
  readOnly?: string[];
  /** Called with each request before it is served; the request waits for it (a test can act mid-upload). */
  onRequest?: (method: string, path: string) => void | Promise<void>;
}

export interface S3Server {
  endpoint: string;
  /** Where s3rver keeps the objects (`<dir>/<bucket>/<key>._S3rver_object`). */
  dir: string;
  /** The environment a process needs to reach the server with the standard AWS variables. */
  env: Record<string, string>;
  /** The `s3:` block of a pipeline file for this server. */
  yaml: string;
  close(): Promise<void>;
}

interface KoaContext {
  method: string;
  path: string;
  headers: Record<string, string | undefined>;
  query: Record<string, string | undefined>;
  status: number;
  body: unknown;
  type: string;
  set(name: string, value: string): void;
}

const xmlError = (code: string, message: string, extra = ''): string =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>0</RequestId></Error>`;

export async function startS3Server(options: S3ServerOptions): Promise<S3Server> {
  const S3rver = require('s3rver') as new (o: Record<string, unknown>) => {
    middleware: ((ctx: KoaContext, next: () => Promise<void>) => Promise<void>)[];
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  };
  const dir = mkdtempSync(join(tmpdir(), 'sluice-s3-'));
  const server = new S3rver({
    address: '127.0.0.1', port: 0, silent: true, directory: dir,
    configureBuckets: options.buckets.map((name) => ({ name, configs: [] })),
  });
  server.middleware.unshift(async (ctx, next) => {
    await options.onRequest?.(ctx.method, decodeURIComponent(ctx.path));
    const bucket = decodeURIComponent(ctx.path.split('/')[1] ?? '');
    const home = options.regions?.[bucket];
    const signedFor = /Credential=[^/]+\/\d+\/([^/]+)\//.exec(ctx.headers.authorization ?? '')?.[1]
      ?? /^[^/]+\/\d+\/([^/]+)\//.exec(ctx.query['X-Amz-Credential'] ?? '')?.[1];
    if (home && signedFor && signedFor !== home) {
      ctx.set('x-amz-bucket-region', home);
      if (ctx.method === 'HEAD') {
        ctx.status = 301;
        return;
      }
      ctx.status = 400;
      ctx.type = 'application/xml';
      ctx.body = xmlError('AuthorizationHeaderMalformed', `The authorization header is malformed; the region '${signedFor}' is wrong; expecting '${home}'`, `<Region>${home}</Region>`);
      return;
    }
    if (options.readOnly?.includes(bucket) && ['PUT', 'POST', 'DELETE'].includes(ctx.method)) {
      ctx.status = 403;
      ctx.type = 'application/xml';
      ctx.body = xmlError('AccessDenied', 'Access Denied');
      return;
    }
    await next();
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  return {
    endpoint,
    dir,
    env: { AWS_ACCESS_KEY_ID: S3_KEY, AWS_SECRET_ACCESS_KEY: S3_SECRET, AWS_REGION: 'us-east-1' },
    yaml: `s3: { endpoint: "${endpoint}", path_style: true }`,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A server for the tests of the enclosing suite: started before them, with the standard AWS variables set to reach
 * it, and closed after them with the environment restored. Returns the server (once started).
 */
export function s3ServerForSuite(options: S3ServerOptions): () => S3Server {
  let server: S3Server | undefined;
  const saved = { ...process.env };
  before(async () => {
    server = await startS3Server(options);
    Object.assign(process.env, server.env);
  });
  after(async () => {
    process.env = saved;
    await server?.close();
  });
  return () => server!;
}
