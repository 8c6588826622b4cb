// A file the files destination reads whole (StreamLoad.ingest), Parquet parts only: DuckDB reads the CSV or Parquet
// file itself, typed exactly as the engine would type it (duckdb/duckdb-ingest.ts: a value the engine reads otherwise
// fails the statement, and the engine reads the file instead), and COPY writes the parts — one per partition, which
// DuckDB's PARTITION_BY splits, or by `target_file_size` — into a scratch directory. The load then takes each part as its own: its rows, and the
// partition values DuckDB reports, name it in the table's layout.
import { rm } from 'node:fs/promises';
import type { DuckDBInstance } from '@duckdb/node-api';
import { errorMessage } from '../../core/errors.js';
import { quoteIdent, sqlString } from '../sql/quote.js';

export interface WrittenPart {
  /** Local path DuckDB wrote. */
  file: string;
  rows: number;
  /** Partition column → value as text (null: NULL), in partition order. */
  partition: (string | null)[];
}

/**
 * `SELECT …` into Parquet parts under `dir`, partitioned by `partitionBy` (source-select column names), the partition
 * columns left out of the files as the engine's path leaves them. Throws what DuckDB said when it cannot.
 */
export async function copyToParts(
  instance: DuckDBInstance, select: string, columns: readonly string[], partitionBy: readonly string[], dir: string, compression: string,
  targetBytes: number,
): Promise<WrittenPart[]> {
  const conn = await instance.connect();
  try {
    // The engine reads a timestamp without a zone as UTC; DuckDB as its session's zone.
    await conn.run("SET TimeZone = 'UTC'");
    const names = columns.map((c) => quoteIdent(c)).join(', ');
    // DuckDB cannot split partitions by size: a partitioned file makes one part per partition.
    const by = partitionBy.length ? `, PARTITION_BY (${partitionBy.map((c) => quoteIdent(c)).join(', ')})` : `, FILE_SIZE_BYTES ${Math.max(1, Math.floor(targetBytes))}`;
    const result = await conn.runAndReadAll(`COPY (SELECT ${names}${partitionBy.length ? `, ${partitionBy.map((c) => quoteIdent(c)).join(', ')}` : ''} FROM (${select}))
      TO ${sqlString(dir)} (FORMAT parquet, COMPRESSION ${compression}${by}, RETURN_STATS, OVERWRITE true, FILENAME_PATTERN 'part-{i}')`);
    return result.getRowObjectsJson().map((r) => {
      const keys = (r.partition_keys ?? []) as { key: string; value: string | null }[];
      return {
        file: String(r.filename), rows: Number(r.count),
        partition: partitionBy.map((c) => keys.find((k) => k.key === c)?.value ?? null),
      };
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(errorMessage(e), { cause: e });
  } finally {
    conn.closeSync();
  }
}
