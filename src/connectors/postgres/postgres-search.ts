// Full-text search over a loaded table: a STORED generated `search_vector` (the declared columns' words, weighted)
// and a GIN index on it, kept in step with the destination's `search:` option. The column's comment holds a
// fingerprint of the option that made it, so an unchanged option costs one catalog read and a changed one (columns,
// weights, language) replaces the column and index; comparing PostgreSQL's deparsed generation expression instead
// would depend on how each server version prints it.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import { quoteIdent, sqlString } from '../sql/quote.js';
import { derivedName, qualified } from './postgres-ddl.js';
import type { TableRef } from './postgres-ddl.js';

export const SEARCH_COLUMN = 'search_vector';

export const searchSpec = z.strictObject({
  columns: z.array(z.string().min(1)).min(1).describe('Columns whose text is searched (other types are cast to text).'),
  language: z.string().min(1).default('english')
    .describe('Text search configuration (`english`, `simple`, `german`, …): must name a `regconfig` on the server.'),
  weights: z.record(z.string(), z.enum(['A', 'B', 'C', 'D'])).optional()
    .describe('Weight per column, `A` (highest) to `D` (the default): ranks a hit in an `A` column above one in a `D` column.'),
}).refine((s) => Object.keys(s.weights ?? {}).every((c) => s.columns.includes(c)), 'every weighted column must be one of `columns`');
export type SearchSpec = z.output<typeof searchSpec>;

type Queryable = Pick<pg.ClientBase, 'query'>;

/** The server's canonical name of `language`, or a ConfigError naming the option: it reaches DDL only as this. */
export async function searchLanguage(db: Queryable, language: string): Promise<string> {
  // A catalog lookup rather than `$1::regconfig`, whose failure would abort the load's transaction (and
  // to_regconfig is PostgreSQL 16+). `schema.name` is looked up in that schema, a bare name on the search path.
  const dot = language.indexOf('.');
  const [schema, cfg] = dot < 0 ? [null, language] : [language.slice(0, dot), language.slice(dot + 1)];
  const r = await db.query<{ name: string }>(
    `SELECT c.oid::regconfig::text AS name FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace
     WHERE c.cfgname = $1 AND CASE WHEN $2::text IS NULL THEN pg_ts_config_is_visible(c.oid) ELSE n.nspname = $2 END`,
    [cfg, schema],
  );
  const name = r.rows[0]?.name;
  if (!name) throw new ConfigError(`search: language ${JSON.stringify(language)} is no text search configuration on the server`, { suggestion: 'see `SELECT cfgname FROM pg_ts_config`' });
  return name;
}

/** `setweight(to_tsvector('english', coalesce("col"::text, '')), 'A') || …`: immutable, as a generated column needs. */
export function searchExpression(spec: SearchSpec, language: string): string {
  const config = `${sqlString(language)}::regconfig`;
  return spec.columns.map((c) => {
    const words = `to_tsvector(${config}, coalesce(${quoteIdent(c)}::text, ''))`;
    const weight = spec.weights?.[c];
    return weight ? `setweight(${words}, ${sqlString(weight)})` : words;
  }).join(' || ');
}

const fingerprint = (expression: string): string => `sluice search ${createHash('sha1').update(expression).digest('hex').slice(0, 16)}`;

/**
 * Give `table` (whose columns are `columns`) its search column and index, or replace them when the option changed.
 * Runs in the caller's transaction, so the rows and the column that indexes them become visible together (a
 * swapped-in table included). An unchanged option takes no lock: catalog reads only.
 */
export async function ensureSearch(
  db: Queryable, table: TableRef, columns: readonly string[], spec: SearchSpec,
): Promise<'created' | 'replaced' | 'unchanged'> {
  const missing = spec.columns.filter((c) => !columns.includes(c));
  if (missing.length) throw new ConfigError(`search: ${missing.join(', ')} ${missing.length === 1 ? 'is no column' : 'are no columns'} of ${qualified(table)} (it has ${columns.filter((c) => c !== SEARCH_COLUMN).join(', ')})`);
  const expression = searchExpression(spec, await searchLanguage(db, spec.language));
  const want = fingerprint(expression);
  const indexName = derivedName(table.table, '_search');
  const r = await db.query<{ comment: string | null; indexed: boolean }>(
    `SELECT col_description(to_regclass($1), a.attnum) AS comment, to_regclass($3) IS NOT NULL AS indexed
     FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attname = $2 AND NOT a.attisdropped`,
    [qualified(table), SEARCH_COLUMN, qualified({ schema: table.schema, table: indexName })],
  );
  const outcome = r.rows.length === 0 ? 'created' : r.rows[0].comment === want ? 'unchanged' : 'replaced';
  const column = quoteIdent(SEARCH_COLUMN);
  // Dropping the column drops its index too.
  if (outcome === 'replaced') await db.query(`ALTER TABLE ${qualified(table)} DROP COLUMN ${column}`);
  if (outcome !== 'unchanged') {
    await db.query(`ALTER TABLE ${qualified(table)} ADD COLUMN ${column} tsvector GENERATED ALWAYS AS (${expression}) STORED`);
    await db.query(`COMMENT ON COLUMN ${qualified(table)}.${column} IS ${sqlString(want)}`);
  }
  // Also when unchanged, an index dropped by hand comes back; CREATE INDEX IF NOT EXISTS would lock out writers first.
  if (outcome !== 'unchanged' || !r.rows[0].indexed) {
    await db.query(`CREATE INDEX IF NOT EXISTS ${quoteIdent(indexName)} ON ${qualified(table)} USING gin (${column})`);
  }
  return outcome;
}
