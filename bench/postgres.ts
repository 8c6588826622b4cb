// What the PostgreSQL benches share: psql's arguments for the local server, a statement that must succeed, and the
// `destination:` block of a pipeline loading into a schema of it.
import { measure, type Measurement } from './measure.js';

export const PG = ['-h', '127.0.0.1', '-U', 'postgres', '-d', 'test', '-q', '-v', 'ON_ERROR_STOP=1'];

export async function psql(sql: string): Promise<Measurement> {
  const m = await measure('psql', [...PG, '-c', sql]);
  if (m.code !== 0) throw new Error(`psql failed: ${m.stderr}`);
  return m;
}

export const postgresDestination = (schema: string): string => `destination:
  type: postgres
  host: 127.0.0.1
  user: postgres
  database: test
  schema: ${schema}
`;
