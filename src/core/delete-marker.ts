// A stream's `delete_column` marks rows that delete their key. Its values are read as lower-case text whatever the
// column's type, so a boolean, a 0/1 flag and a 'yes' all work — the same way in the engine and in every
// destination's SQL.
const MARKED = ['true', 't', '1', 'yes', 'y'];
const MARKED_SET = new Set(MARKED);

/** Whether a value of the delete column marks a deletion. */
export const isDeleteMarked = (v: unknown): boolean => v !== null && v !== undefined && MARKED_SET.has(String(v).toLowerCase());

/** SQL that is true (never NULL) when `text` — the marker column read as text — marks a deletion. */
export const deleteMarkedSql = (text: string): string =>
  `coalesce(lower(${text}) IN (${MARKED.map((v) => `'${v}'`).join(', ')}), false)`;
