// The column names of a driver's result, as one array for as long as they do not change: the engine compiles its
// per-column work once per distinct names array, so every page of a read should hand over the same one.
export class ResultColumns {
  private names: string[] = [];

  /** The names of `fields` (pg's FieldDef, mysql2's FieldPacket, better-sqlite3's column definitions). */
  of(fields: readonly { name: string }[]): string[] {
    if (fields.length !== this.names.length || fields.some((f, i) => f.name !== this.names[i])) this.names = fields.map((f) => f.name);
    return this.names;
  }
}
