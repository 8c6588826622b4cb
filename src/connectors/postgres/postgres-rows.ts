// Rows of a PostgreSQL result as arrays under one array of names (../sql/result-columns.ts): no object per row. The
// source's value parsers (postgres-types.ts) give every catalog type its canonical form, so these batches are marked
// canonical and the engine only checks the values.
import type pg from 'pg';
import type Cursor from 'pg-cursor';

/** The next `n` rows of a cursor opened with `rowMode: 'array'`, and its result's fields (the promise form has none). */
export function readArrays(cursor: Cursor<unknown[]>, n: number): Promise<{ values: unknown[][]; fields: pg.FieldDef[] }> {
  return new Promise((done, fail) => {
    cursor.read(n, (err, rows, result) => (err ? fail(err) : done({ values: rows, fields: result.fields })));
  });
}
