// `sluice lake <pipeline.yaml> [SQL] [--json]`: query with DuckDB what the pipeline's files destination committed, on
// local disk or S3. Each table is a view over the parts its manifest lists (partition columns read back from the
// directory names), so uncommitted files are never seen. Without SQL, one row per table: its rows, parts and layout.
import type { Command } from 'commander';
import { loadPipelineFile } from '../config/load.js';
import type { FilesConfig } from '../connectors/files/files-spec.js';
import { LakeReader, lakeViewSql } from '../connectors/files/lake-reader.js';
import { sluiceHome } from '../control/open.js';
import { ConfigError, RunError, errorMessage } from '../core/errors.js';
import { act } from './command.js';
import type { CliCommand } from './command.js';
import { EXIT } from './exit-codes.js';
import { textTable } from './text-table.js';

export const lakeCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('lake')
      .description('query with DuckDB the tables a files destination committed (local or S3): each table is a view over its manifest\'s parts')
      .argument('<pipeline>', 'pipeline file with a files destination')
      .argument('[sql]', 'a query over the tables by name; without it, one line per table')
      .option('--json', 'print {columns, rows} as one JSON object')
      .action((file: string, sql: string | undefined, o: { json?: boolean }) => act(setExit, () => lake(file, sql, o)));
  },
};

async function lake(file: string, sql: string | undefined, o: { json?: boolean }): Promise<number> {
  const loaded = await loadPipelineFile(file);
  const destination = loaded.config.destination;
  if (destination.type !== 'files') {
    throw new ConfigError(`sluice lake reads a files destination; pipeline ${loaded.config.pipeline} writes to ${destination.type}`);
  }
  const reader = await LakeReader.open(destination as unknown as FilesConfig, loaded.baseDir, sluiceHome());
  const { DuckDBInstance } = await import('@duckdb/node-api');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  try {
    const tables = await reader.tables();
    await conn.run("SET TimeZone = 'UTC'");
    for (const t of tables) await conn.run(lakeViewSql(t));
    let columns: string[];
    let rows: Record<string, unknown>[];
    if (sql) {
      let result;
      try {
        result = await conn.runAndReadAll(sql);
      } catch (e) {
        throw new RunError(`query failed: ${errorMessage(e)} (tables: ${tables.map((t) => t.manifest.table).join(', ') || 'none'})`);
      }
      columns = result.columnNames();
      rows = result.getRowObjectsJson() as Record<string, unknown>[];
    } else {
      columns = ['table', 'rows', 'parts', 'bytes', 'format', 'partition_by', 'updated_at'];
      rows = tables.map((t) => ({
        table: t.manifest.table, rows: t.manifest.files.reduce((n, f) => n + f.rows, 0), parts: t.manifest.files.length,
        bytes: t.manifest.files.reduce((n, f) => n + f.bytes, 0), format: t.manifest.format,
        partition_by: (t.manifest.partition_by ?? []).join(', '), updated_at: t.manifest.updated_at,
      }));
    }
    process.stdout.write(o.json ? `${JSON.stringify({ columns, rows })}\n` : textTable(columns, rows, sql ? 'no rows' : 'no tables yet'));
    return EXIT.success;
  } finally {
    conn.closeSync();
    db.closeSync();
    reader.close();
  }
}
