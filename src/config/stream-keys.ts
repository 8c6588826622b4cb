// Keys every stream accepts, whatever its source. Connector specs add their own beside these.
import { z } from 'zod';
import { DURATION } from '../core/duration.js';
import { COLUMN_TYPES, SCHEMA_CONTRACTS, SCHEMA_POLICIES, WRITE_DISPOSITIONS } from '../core/types.js';

/** A stream name: snake_case (it is also the default table name). */
export const STREAM_NAME = /^[a-z_][a-z0-9_]*$/;

const keyList = z.union([z.string().transform((s) => [s]), z.array(z.string()).min(1)]);

// decimal(p,s)'s bounds (p ≥ 1, s ≤ p) are checked with the stream (validate-pipeline.ts).
const columnType = z.union([z.enum(COLUMN_TYPES), z.templateLiteral(['decimal(', z.int(), ',', z.int(), ')'])]);

/**
 * A declared column: its type, or its type with a `pii` tag beside it, where the column is declared. The loaded
 * config has the type only, and the tagged columns in the stream's `pii` list (declared-columns.ts), so nothing
 * past loading knows there were two ways to say it.
 */
const declaredColumn = z.union([
  columnType,
  z.strictObject({
    type: columnType.describe('The column\'s type, as in the short form.'),
    pii: z.boolean().optional().describe('The column holds personal data: the same as naming it in the stream\'s `pii` list.'),
  }),
]);

export const commonStreamKeys = {
  name: z.string().regex(STREAM_NAME, 'a snake_case stream name').describe('Stream name (snake_case); also the default table name.'),
  primary_key: keyList.default([]).describe('Column(s) that identify a row; required for `write: merge`.'),
  cursor: z.string().optional().describe('Column whose high-water mark is kept in state for incremental runs.'),
  write: z.enum(WRITE_DISPOSITIONS).default('append').describe('Write disposition: append, replace (atomic swap), merge (upsert on primary key) or scd2 (history per key: `valid_from`, `valid_to`, `is_current`; a new version only when a tracked column changed).'),
  columns: z.record(z.string(), declaredColumn).optional().describe('Declared column types (`total: decimal`), or a type with a tag (`email: { type: text, pii: true }`, the same as listing the column in `pii`); undeclared columns are inferred from the data. `decimal(p,s)` declares a decimal of at most p digits, s after the point: the destination column gets that precision, and a value that does not fit goes to the dead-letter queue, unless `rounding` says how to round it. A declaration that grows later widens the existing column to hold it (never narrows it; SQLite has no limit to widen).'),
  rounding: z.enum(['half_even', 'half_up']).optional().describe('Round values of a declared `decimal(p,s)` column with more than s digits after the point (half_even: to the even neighbour, as banks do; half_up: away from zero at .5). Without it such a value goes to the dead-letter queue: nothing is rounded silently.'),
  on_schema_change: z.enum(SCHEMA_POLICIES).default('widen').describe('When a value does not fit its inferred column: widen the column, reject the row to the DLQ, or fail the run. Declared columns never widen.'),
  contract: z.enum(SCHEMA_CONTRACTS).optional().describe('Schema contract (decides instead of `on_schema_change` when set): evolve = add new columns and widen inferred types; freeze = once the schema is known (stored, declared, or the first batch), rows with new columns or values that do not fit go to the DLQ; discard_value = new columns are dropped and values that do not fit become null; discard_row = such rows are dropped (counted as filtered). Changes are recorded in the run ledger.'),
  lookback: z.union([z.number().positive(), z.string().regex(DURATION, 'a number, or a duration such as `10m`, `2h` or `1d`')]).optional()
    .describe('Re-read this far behind the stored watermark on every run (a number for a numeric cursor, a duration such as `10m` for a date or timestamp): rows that commit late or arrive out of order are loaded instead of missed. Needs a `cursor`; `write: merge` and `scd2` make the re-read rows harmless, and `write: append` (with a `primary_key`) skips the rows it loaded before, by a hash of key and cursor kept in the state for the rows within `lookback` of the watermark.'),
  destination_table: z.string().optional().describe('Destination table name; defaults to the stream name.'),
  strip_nul: z.boolean().optional().describe('Remove NUL characters (U+0000) from text and JSON values. Without it, a row with a NUL goes to the dead-letter queue on destinations that cannot store one (PostgreSQL).'),
  partition_by: keyList.optional().describe('Files destination: lay the table out by these columns, Hive-style: a row with `event_date` 2026-12-01 goes to a part under `event_date=2026-12-01/`; several columns nest in order; a NULL or empty value is `__HIVE_DEFAULT_PARTITION__`. The columns are kept in the manifest and the directory names, not inside the part files (the convention Spark, Trino, Athena and DuckDB read back with `hive_partitioning`).'),
  pii: keyList.optional().describe('Source columns holding personal data (`pii: [email, phone]`; or `pii: true` on a declared column). `sluice lint` warns about columns whose names look personal but are not tagged. Their values in rejected rows never appear in logs, error messages or the run ledger (they are masked as `***`); in the dead-letter queue they are stored encrypted when `SLUICE_ENCRYPTION_KEY` (or `SLUICE_ENCRYPTION_KEY_FILE`) is set, and masked otherwise (a payload in which they cannot be located, such as a CSV line that did not parse, is withheld whole). A masked entry cannot be replayed.'),
  delete_column: z.string().optional().describe('With `write: merge`, a column whose true value deletes the row with that key instead of upserting it.'),
};
