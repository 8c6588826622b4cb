// Reads a `tables` stream (./tables-spec.ts) through the run's destination, or the `from` destination: each table
// whole, in order, each row with its table's label in `source_column`. The stream's state says when it was read;
// nothing is incremental.
import type { Destination, RunContext, Source, StreamConfig } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { Batch } from '../../core/types.js';
import { openDestination } from './from-destination.js';
import { tablesOf, type TablesConfig, type TablesStreamOptions } from './tables-spec.js';

type Reader = (table: string, columns: string[]) => AsyncIterable<Record<string, unknown>[]>;

export class TablesSource implements Source {
  readonly type = 'tables';
  private from: Destination | undefined;

  constructor(private readonly config: TablesConfig = {}) {}

  async connect(ctx: RunContext): Promise<void> {
    if (!this.config.from) return;
    this.from = await openDestination(this.config.from, ctx);
    if (!this.from.readTable) {
      await this.close();
      throw new RunError(`the \`from\` destination (${this.config.from.type}) cannot be read back, so it has no tables to read`);
    }
  }

  async *read(stream: StreamConfig, _state: unknown, ctx: RunContext): AsyncIterable<Batch> {
    const from = this.from;
    const read: Reader | undefined = from ? (t, c) => from.readTable!(t, c) : ctx.readDestination;
    if (!read) throw new RunError(`stream ${stream.name}: this destination cannot be read back, so it has no tables to read`, stream.name);
    const column = (stream as unknown as TablesStreamOptions).source_column;
    for (const [label, table] of tablesOf(stream)) {
      let count = 0;
      // Rows go on as arrays under the table's column names (as a CSV's do): an object per row, copied again by the
      // transforms, was a third of the time a 1M-row `resolve` stream took to read, and of its garbage.
      let columns: string[] | undefined;
      // The label's slot: after the table's columns, or a column of its own by that name (overwritten, as an object
      // row's would be); undefined without a source column.
      let labelAt: number | undefined;
      for await (const rows of read(table, [])) {
        if (rows.length === 0) continue;
        count += rows.length;
        if (!columns) {
          columns = Object.keys(rows[0]);
          if (column !== null) {
            labelAt = columns.indexOf(column);
            if (labelAt < 0) labelAt = columns.push(column) - 1;
          }
        }
        const values: unknown[][] = new Array(rows.length);
        for (let i = 0; i < rows.length; i++) {
          // A table's rows all have its columns, in its order.
          const row = Object.values(rows[i]);
          if (labelAt !== undefined) row[labelAt] = label;
          values[i] = row;
        }
        yield { rows: [], columns, values };
      }
      // Another pipeline's table that is missing or empty is most likely not built yet (or misnamed): going on would
      // publish nothing, and a `write: replace` would empty the target.
      if (from && count === 0) {
        throw new RunError(`stream ${stream.name}: table ${table} of the \`from\` destination (${this.config.from!.type}) is missing or empty; run the pipeline that loads it first`, stream.name);
      }
    }
    yield { rows: [], checkpoint: { version: 1, connector: { read_at: new Date().toISOString() } } };
  }

  async close(): Promise<void> {
    await this.from?.close();
    this.from = undefined;
  }
}
