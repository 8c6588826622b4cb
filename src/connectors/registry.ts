// The explicit registry of connector specs. Library users may register their own, or pass instances
// directly to the runner (see src/index.ts).
import type { DestinationSpec, SourceSpec } from '../core/connector.js';
import { csvSourceSpec } from './csv/csv-spec.js';
import { jsonSourceSpec } from './json/json-spec.js';
import { ndjsonSourceSpec } from './ndjson/ndjson-spec.js';
import { websocketSourceSpec } from './websocket/websocket-spec.js';
import { restSourceSpec } from './rest/rest-spec.js';
import { graphqlSourceSpec } from './graphql/graphql-spec.js';
import { duckdbDestinationSpec } from './duckdb/duckdb-spec.js';
import { filesDestinationSpec } from './files/files-spec.js';
import { mysqlDestinationSpec, mysqlSourceSpec } from './mysql/mysql-spec.js';
import { postgresDestinationSpec, postgresSourceSpec } from './postgres/postgres-spec.js';
import { sqliteDestinationSpec, sqliteSourceSpec } from './sqlite/sqlite-spec.js';
import { redisDestinationSpec } from './redis/redis-spec.js';
import { xmlSourceSpec } from './xml/xml-spec.js';
import { parquetSourceSpec } from './parquet/parquet-spec.js';
import { logSourceSpec } from './log/log-spec.js';
import { tablesSourceSpec } from './tables/tables-spec.js';

const sources = new Map<string, SourceSpec>();
const destinations = new Map<string, DestinationSpec>();

export function registerSource(spec: SourceSpec): void {
  sources.set(spec.type, spec);
}

export function registerDestination(spec: DestinationSpec): void {
  destinations.set(spec.type, spec);
}

export const sourceSpecs = (): SourceSpec[] => [...sources.values()];
export const destinationSpecs = (): DestinationSpec[] => [...destinations.values()];
export const getSourceSpec = (type: string): SourceSpec | undefined => sources.get(type);
export const getDestinationSpec = (type: string): DestinationSpec | undefined => destinations.get(type);

/** The destination used when a pipeline has no `destination:` key. */
export const DEFAULT_DESTINATION = 'duckdb';

for (const s of [csvSourceSpec, jsonSourceSpec, ndjsonSourceSpec, postgresSourceSpec, mysqlSourceSpec, sqliteSourceSpec]) registerSource(s);
for (const d of [duckdbDestinationSpec, filesDestinationSpec, postgresDestinationSpec, mysqlDestinationSpec, sqliteDestinationSpec, redisDestinationSpec]) {
  registerDestination(d);
}
for (const s of [restSourceSpec, graphqlSourceSpec]) registerSource(s);
registerSource(websocketSourceSpec);
for (const s of [xmlSourceSpec, parquetSourceSpec, logSourceSpec, tablesSourceSpec]) registerSource(s);
