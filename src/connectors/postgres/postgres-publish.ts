// The publish step: what depends on the loaded tables is brought up to date once their rows are committed —
// materialized views refreshed (CONCURRENTLY where PostgreSQL allows it, so readers are not blocked), then the
// configured post-load SQL run, each statement on its own.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { ViewDefinition } from '../../core/connector.js';
import type { Logger } from '../../core/logger.js';
import { quoteIdent, quoteQualified, sqlString } from '../sql/quote.js';
import { schemaAndName } from '../sql/qualified-name.js';
import { pgError } from './postgres-connection.js';

export interface PublishConfig {
  refresh_materialized_views?: string[];
  post_load_sql?: string[];
}

/** `name` or `schema.name` (either part may be double-quoted) → a quoted name; unqualified names are in `schema`. */
export const viewName = (name: string, schema: string): string => quoteQualified(schemaAndName(name, schema));

/** REFRESH, CONCURRENTLY where PostgreSQL allows it (a unique index, a view populated before): readers are not blocked. */
async function refresh(client: pg.ClientBase, view: string, logger: Logger): Promise<void> {
  try {
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

export async function publish(client: pg.ClientBase, schema: string, config: PublishConfig, logger: Logger): Promise<void> {
  for (const name of config.refresh_materialized_views ?? []) await refresh(client, viewName(name, schema), logger);
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

const KIND: Record<string, string> = { v: 'VIEW', m: 'MATERIALIZED VIEW' };

/**
 * A pipeline's `views:` in one transaction, names resolving in `schema` first. Each view carries a comment naming
 * the hash of its definition: an unchanged materialized view is only refreshed, an unchanged view left alone, a
 * changed one dropped and created again (without CASCADE: a view of someone else's that depends on it stops the run,
 * with PostgreSQL's message, rather than disappear).
 */
export async function publishViews(client: pg.ClientBase, schema: string, views: ViewDefinition[], logger: Logger): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SET LOCAL search_path TO ${quoteIdent(schema)}, public`);
    for (const v of views) {
      const name = quoteQualified([schema, v.name]);
      const tag = `sluice:${createHash('sha256').update(`${v.materialized}\0${v.sql}`).digest('hex')}`;
      try {
        const { rows: [found] } = await client.query<{ relkind: string; tag: string | null }>(
          "SELECT c.relkind, obj_description(c.oid, 'pg_class') AS tag FROM pg_class c WHERE c.oid = to_regclass($1)", [name]);
        if (found && !KIND[found.relkind]) throw new Error(`${name} exists and is no view`);
        if (found?.tag === tag) {
          if (v.materialized) await refresh(client, name, logger);
          continue;
        }
        if (found) await client.query(`DROP ${KIND[found.relkind]} ${name}`);
        await client.query(`CREATE ${v.materialized ? 'MATERIALIZED VIEW' : 'VIEW'} ${name} AS ${v.sql}`);
        await client.query(`COMMENT ON ${v.materialized ? 'MATERIALIZED VIEW' : 'VIEW'} ${name} IS ${sqlString(tag)}`);
        logger.info({ view: name, materialized: v.materialized }, found ? 'view replaced' : 'view created');
      } catch (e) {
        throw pgError(e, `view ${v.name}`);
      }
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
