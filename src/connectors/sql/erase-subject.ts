// A data subject's rows erased from one table (`sluice erase`), in the statements every SQL destination shares. The
// rows matching the value go, and with a key, every row sharing a key with one of them: an SCD2 table's earlier
// versions of the subject may hold an older value of the column erased by. Each destination runs these on one
// connection inside one transaction; the statements never name the value in their text (it is a parameter).
import type { EraseOptions, ErasedRows, SubjectRows } from '../../core/connector.js';
import { Params, type SqlDialect } from './sql-dialect.js';

/** What the statements run on: a connection of the destination, in a transaction the destination opened. */
export interface SqlSession {
  readonly dialect: SqlDialect;
  /** Quote a column name as the destination stores it. */
  column(name: string): string;
  /** Result rows as arrays. */
  rows(sql: string, params: unknown[]): Promise<unknown[][]>;
  /** The number of rows a statement changed. */
  run(sql: string, params: unknown[]): Promise<number>;
}

/** Keys per statement: enough to keep statements few, few enough for every driver's parameter limit. */
const KEYS_PER_STATEMENT = 200;

/** `table` is the quoted, qualified table name. */
export async function eraseSubjectRows(s: SqlSession, table: string, subject: SubjectRows, options: EraseOptions): Promise<ErasedRows> {
  const col = s.column(subject.column);
  const matches = (p: Params): string => `${col} IN (${subject.values.map((v) => p.add(v)).join(', ')})`;
  let keys: unknown[][] = [];
  if (subject.key.length) {
    const p = new Params(s.dialect);
    keys = await s.rows(`SELECT DISTINCT ${subject.key.map((k) => s.column(k)).join(', ')} FROM ${table} WHERE ${matches(p)}`, p.values);
  }
  const apply = async (where: (p: Params) => string): Promise<number> => {
    const p = new Params(s.dialect);
    if (options.dryRun) {
      const [[n]] = await s.rows(`SELECT COUNT(*) FROM ${table} WHERE ${where(p)}`, p.values);
      return Number(n);
    }
    if (options.anonymise?.length) {
      const set = options.anonymise.map((c) => `${s.column(c)} = NULL`).join(', ');
      return s.run(`UPDATE ${table} SET ${set} WHERE ${where(p)}`, p.values);
    }
    return s.run(`DELETE FROM ${table} WHERE ${where(p)}`, p.values);
  };
  let rows = 0;
  // Rows of the subject's keys not matching the value first, then the matching ones: each row is counted once,
  // whatever anonymising the column itself does to the match.
  for (let i = 0; i < keys.length; i += KEYS_PER_STATEMENT) {
    const chunk = keys.slice(i, i + KEYS_PER_STATEMENT);
    rows += await apply((p) => `(${keyCondition(s, subject.key, chunk, p)}) AND (${col} IS NULL OR NOT ${matches(p)})`);
  }
  rows += await apply(matches);
  return { rows, keys };
}

/** Rows whose key is one of `keys`: `k IN (…)` for a one-column key, `(a = … AND b = …) OR …` otherwise. */
function keyCondition(s: SqlSession, key: readonly string[], keys: unknown[][], p: Params): string {
  if (key.length === 1) return `${s.column(key[0])} IN (${keys.map((k) => p.add(k[0])).join(', ')})`;
  return keys.map((k) => `(${key.map((c, j) => (k[j] === null ? `${s.column(c)} IS NULL` : `${s.column(c)} = ${p.add(k[j])}`)).join(' AND ')})`).join(' OR ');
}
