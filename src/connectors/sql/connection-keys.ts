// The connection keys every server-based SQL connector accepts: a URL or fields, TLS, pool size and a statement
// timeout. Each connector supplies only what differs: its URL scheme, its defaults, and how it applies a timeout.
import { z } from 'zod';

const pem = z.string().min(1);

export interface ConnectionKeyDocs {
  url: string;
  host: string;
  port: string;
  user: string;
  database: string;
  statementTimeout: string;
}

/** `sslExtra`: TLS option keys only one server has (e.g. PostgreSQL's `servername`). */
export function connectionKeys<E extends z.ZodRawShape = Record<never, never>>(docs: ConnectionKeyDocs, sslExtra?: E) {
  return {
    url: z.string().min(1).optional().describe(docs.url),
    host: z.string().min(1).optional().describe(docs.host),
    port: z.number().int().min(1).max(65535).optional().describe(docs.port),
    user: z.string().min(1).optional().describe(docs.user),
    password: z.string().optional().describe('Password; never logged, never stored in state or errors. Prefer `${ENV_VAR}`.'),
    database: z.string().min(1).optional().describe(docs.database),
    ssl: z.union([
      z.boolean(),
      z.strictObject({
        ca: pem.optional().describe('CA certificate: PEM text, or a path to a PEM file (relative to the pipeline file).'),
        cert: pem.optional().describe('Client certificate: PEM text or a path.'),
        key: pem.optional().describe('Client private key: PEM text or a path.'),
        reject_unauthorized: z.boolean().default(true).describe('Refuse a server certificate that does not verify against the CA.'),
        ...(sslExtra as E),
      }),
    ]).optional().describe('TLS: `true` (verify against the system CAs), or options with a CA, client certificate and key.'),
    pool_size: z.number().int().min(1).max(100).default(4)
      .describe('Connections kept open at most; each stream being loaded or read holds one.'),
    statement_timeout_ms: z.number().int().min(0).optional().describe(docs.statementTimeout),
  };
}
