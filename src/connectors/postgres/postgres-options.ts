// Connection keys of the PostgreSQL source and destination (a URL or fields, TLS, pool size, statement timeout), apart
// from the code that connects: the spec reads them without loading the driver.
import { z } from 'zod';
import { connectionKeys as sharedConnectionKeys } from '../sql/connection-keys.js';

export const connectionKeys = sharedConnectionKeys({
  url: 'Connection URL, `postgres://user:password@host:5432/database?sslmode=require`. Fields given beside it override its parts.',
  host: 'Server host (default: `PGHOST` or `localhost`).',
  port: 'Server port (default: `PGPORT` or 5432).',
  user: 'User name (default: `PGUSER` or the OS user).',
  database: 'Database name (default: the user name).',
  statementTimeout: 'Server-side limit per statement, in ms (0: none). A checkpoint\'s COPY is one statement, so allow for it.',
}, { servername: z.string().optional().describe('Server name for SNI and verification, when it differs from `host`.') });

export const connectionConfig = z.object(connectionKeys);
export type ConnectionConfig = z.output<typeof connectionConfig>;
