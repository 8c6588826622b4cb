// Rows of a PostgreSQL result as arrays under one array of names: no object per row, and the engine compiles its
// per-column work once per distinct names array. The source's value parsers (postgres-types.ts) give every catalog
// type its canonical form, so these batches are marked canonical and the engine only checks the values.
import type pg from 'pg';
import type Cursor from 'pg-cursor';

/** The names of a result's columns, as the same array for as long as they do not change. */
export class ResultColumns {
  private names: string[] = [];

  of(fields: readonly pg.FieldDef[]): string[] {
    if (fields.length !== this.names.length || fields.some((f, i) => f.name !== this.names[i])) this.names = fields.map((f) => f.name);
    return this.names;
  }
}

/** The next `n` rows of a cursor opened with `rowMode: 'array'`, and its result's fields (the promise form has none). */
export function readArrays(cursor: Cursor<unknown[]>, n: number): Promise<{ values: unknown[][]; fields: pg.FieldDef[] }> {
  return new Promise((done, fail) => {
    cursor.read(n, (err, rows, result) => (err ? fail(err) : done({ values: rows, fields: result.fields })));
  });
}
