// A search over a table made searchable by the destination's `search:` option (postgres-search.ts): the user's text
// read by websearch_to_tsquery, which accepts any input ("quoted phrases", or, -not; stray `&|!` and quotes are
// words or nothing, never a syntax error), the hits ranked by ts_rank_cd. The text and the language are parameters.
import { ConfigError } from '../../core/errors.js';
import { quoteIdent } from '../sql/quote.js';
import { qualified } from './postgres-ddl.js';
import type { TableRef } from './postgres-ddl.js';
import { SEARCH_COLUMN } from './postgres-search.js';
import type { SearchSpec } from './postgres-search.js';

export type Query = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

export interface SearchHits {
  /** The searched columns, in the order the option lists them, then `rank`. */
  columns: string[];
  rows: Record<string, unknown>[];
}

export async function searchTable(query: Query, table: TableRef, spec: SearchSpec, text: string, limit: number): Promise<SearchHits> {
  const [found] = await query(
    `SELECT to_regclass($1) IS NOT NULL AS "table",
       EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass($1) AND attname = $2 AND NOT attisdropped) AS "column"`,
    [qualified(table), SEARCH_COLUMN],
  );
  const name = `${table.schema}.${table.table}`;
  if (!found.table) throw new ConfigError(`table ${name} does not exist yet: run the pipeline first`);
  if (!found.column) throw new ConfigError(`table ${name} has no ${SEARCH_COLUMN} column yet: run the pipeline first (a run that loads it adds the column)`);
  const vector = `t.${quoteIdent(SEARCH_COLUMN)}`;
  const rows = await query(
    `SELECT ${spec.columns.map((c) => `t.${quoteIdent(c)}`).join(', ')}, ts_rank_cd(${vector}, q) AS rank
     FROM ${qualified(table)} t, websearch_to_tsquery($1::regconfig, $2) q
     WHERE ${vector} @@ q ORDER BY rank DESC LIMIT $3`,
    [spec.language, text, limit],
  );
  return { columns: [...spec.columns, 'rank'], rows };
}
