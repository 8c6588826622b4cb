// The publish step: what depends on the loaded tables is brought up to date once their rows are committed —
// materialized views refreshed (CONCURRENTLY where PostgreSQL allows it, so readers are not blocked), then the
// configured post-load SQL run, each statement on its own.
import type pg from 'pg';
import type { Logger } from '../../core/logger.js';
import { quoteIdent, quoteQualified } from '../sql/quote.js';
import { schemaAndName } from '../sql/qualified-name.js';
import { pgError } from './postgres-connection.js';

export interface PublishConfig {
  refresh_materialized_views?: string[];
  post_load_sql?: string[];
}

/** `name` or `schema.name` (either part may be double-quoted) → a quoted name; unqualified names are in `schema`. */
export const viewName = (name: string, schema: string): string => quoteQualified(schemaAndName(name, schema));

export async function publish(client: pg.ClientBase, schema: string, config: PublishConfig, logger: Logger): Promise<void> {
  for (const name of config.refresh_materialized_views ?? []) {
    const view = viewName(name, schema);
    try {
      // CONCURRENTLY needs a unique index and a view that was populated before.
      const r = await client.query<{ concurrent: boolean }>(
        `SELECT c.relispopulated AND EXISTS (
           SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL
         ) AS concurrent
         FROM pg_class c WHERE c.oid = to_regclass($1) AND c.relkind = 'm'`,
        [view],
      );
      if (r.rows.length === 0) throw new Error(`${view} is not a materialized view`);
      const concurrent = r.rows[0].concurrent;
      await client.query(`REFRESH MATERIALIZED VIEW ${concurrent ? 'CONCURRENTLY ' : ''}${view}`);
      logger.info({ view, concurrent }, 'materialized view refreshed');
    } catch (e) {
      throw pgError(e, `refreshing materialized view ${view}`);
    }
  }
  if (!config.post_load_sql?.length) return;
  // Unqualified names in post-load SQL mean the tables just loaded: the destination schema comes first.
  await client.query(`SET search_path TO ${quoteIdent(schema)}, public`);
  try {
    for (const [i, sql] of config.post_load_sql.entries()) {
      try {
        await client.query(sql);
      } catch (e) {
        throw pgError(e, `post_load_sql[${i}]`);
      }
    }
  } finally {
    await client.query('RESET search_path').catch(() => undefined);
  }
}
