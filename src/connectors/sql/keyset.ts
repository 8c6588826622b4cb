// Keyset pagination ("seek method") for incremental reads: order by the cursor column then the primary key, and
// continue strictly after the last (cursor, key…) tuple read. Unlike OFFSET or `cursor > last`, no row sharing a
// cursor value with the end of a page is skipped or read twice, and each page costs an index range scan.
// Dialect-neutral: the caller gives its identifier quoting and placeholder style.

export interface KeysetDialect {
  quote: (name: string) => string;
  /** Placeholder of the n-th parameter (1-based): `$n` for PostgreSQL, `?` for MySQL and SQLite. */
  placeholder: (n: number) => string;
  /**
   * Row-value comparison `(a, b) > (x, y)` (PostgreSQL, SQLite ≥ 3.15, MySQL ≥ 8 use an index range for it).
   * Without, the expanded `a > x OR (a = x AND b > y)` form is used.
   */
  rowValues: boolean;
}

export interface KeysetPage {
  /** `WHERE` condition (without the keyword), or '' on the first page. */
  where: string;
  /** `ORDER BY` list (without the keywords). */
  orderBy: string;
  params: unknown[];
}

/**
 * The condition and order of the page after `after` (values of `columns`, in order), or of the first page.
 * `notNull` columns are required non-null: a NULL cursor has no place in the order, so such rows are not read.
 */
export function keysetPage(
  dialect: KeysetDialect, columns: readonly string[], after: readonly unknown[] | undefined, notNull: readonly string[] = [],
  firstParam = 1,
): KeysetPage {
  const q = columns.map((c) => dialect.quote(c));
  const orderBy = q.join(', ');
  const conditions = notNull.map((c) => `${dialect.quote(c)} IS NOT NULL`);
  const params: unknown[] = [];
  if (after !== undefined) {
    if (after.length !== columns.length) throw new Error(`keyset position has ${after.length} values for ${columns.length} columns`);
    const p = (v: unknown): string => {
      params.push(v);
      return dialect.placeholder(firstParam + params.length - 1);
    };
    if (dialect.rowValues) {
      conditions.push(`(${q.join(', ')}) > (${after.map(p).join(', ')})`);
    } else {
      const ors = q.map((col, i) => {
        const eq = q.slice(0, i).map((prev, j) => `${prev} = ${p(after[j])}`);
        return `(${[...eq, `${col} > ${p(after[i])}`].join(' AND ')})`;
      });
      conditions.push(`(${ors.join(' OR ')})`);
    }
  }
  return { where: conditions.join(' AND '), orderBy, params };
}

/**
 * Where a read starts: strictly after the stored position `after`, or, without one (a first run, a `lookback`, state
 * another source wrote), at the watermark `from` (inclusive), rather than at the beginning of the relation.
 */
export function keysetFrom(
  dialect: KeysetDialect, columns: readonly string[], after: readonly unknown[] | undefined, from: unknown, notNull: readonly string[] = [],
): KeysetPage {
  const page = keysetPage(dialect, columns, after, notNull);
  if (after === undefined && from !== null && from !== undefined) {
    page.params.push(from);
    page.where = [page.where, `${dialect.quote(columns[0])} >= ${dialect.placeholder(page.params.length)}`].filter(Boolean).join(' AND ');
  }
  return page;
}

/** The watermark a state keeps for `cursor`, or null. */
export const watermarkOf = (state: { cursor?: { column: string; value: unknown } } | undefined, cursor: string | undefined): unknown =>
  (cursor !== undefined && state?.cursor?.column === cursor ? state.cursor.value ?? null : null);
