// Parquet parts through an in-memory DuckDB: a part's rows are appended to a table (DuckDB's typed columnar
// storage, ~8 bytes a number rather than a JS object per value), then COPY writes the file (zstd unless the destination says otherwise). Memory is
// bounded by one part, which a commit always closes, so by the checkpoint size.
import { rm } from 'node:fs/promises';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { appendRows, ensureTable, planAppend } from '../duckdb/duckdb-append.js';
import type { AppendPlan, TableRef } from '../duckdb/duckdb-append.js';
import { quoteIdent, sqlString } from '../sql/quote.js';
import type { PartColumn, PartWriter } from './part-writer.js';

let partCounter = 0;

export class ParquetPartWriter implements PartWriter {
  rows = 0;
  /** Unknown until COPY encodes the rows; the load estimates it from the parts it closed (files-load.ts). */
  readonly bytes = undefined;
  private conn: DuckDBConnection | undefined;
  private plan: AppendPlan | undefined;
  private readonly ref: TableRef;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly path: string,
    private readonly columns: readonly PartColumn[],
    private readonly compression = 'zstd',
  ) {
    this.ref = { catalog: 'memory', schema: 'main', table: `part_${++partCounter}` };
  }

  async write(rows: unknown[][]): Promise<void> {
    const conn = await this.open();
    await appendRows(conn, this.plan!, rows);
    this.rows += rows.length;
  }

  async close(): Promise<void> {
    const conn = await this.open();
    const select = this.columns.map((c) => quoteIdent(c.name)).join(', ');
    await conn.run(`COPY (SELECT ${select} FROM ${quoteIdent(this.ref.table)}) TO ${sqlString(this.path)} (FORMAT parquet, COMPRESSION ${this.compression})`);
    await this.release();
  }

  async discard(): Promise<void> {
    await this.release().catch(() => undefined);
    await rm(this.path, { force: true }).catch(() => undefined);
  }

  private async open(): Promise<DuckDBConnection> {
    if (!this.conn) {
      const conn = await this.instance.connect();
      this.conn = conn;
      const tableColumns = await ensureTable(conn, this.ref, this.columns);
      this.plan = planAppend(this.ref, tableColumns, this.columns);
    }
    return this.conn;
  }

  private async release(): Promise<void> {
    const conn = this.conn;
    if (!conn) return;
    this.conn = undefined;
    try {
      await conn.run(`DROP TABLE IF EXISTS ${quoteIdent(this.ref.table)}`);
    } finally {
      conn.closeSync();
    }
  }
}
