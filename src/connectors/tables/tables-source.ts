// Reads a `tables` stream (./tables-spec.ts) through the run's destination: each table whole, in order, each row with
// its table's label in `source_column`. The stream's state says when it was read; nothing is incremental.
import type { RunContext, Source, StreamConfig } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { Batch, Row } from '../../core/types.js';
import { tablesOf, type TablesStreamOptions } from './tables-spec.js';

export class TablesSource implements Source {
  readonly type = 'tables';

  async *read(stream: StreamConfig, _state: unknown, ctx: RunContext): AsyncIterable<Batch> {
    const read = ctx.readDestination;
    if (!read) throw new RunError(`stream ${stream.name}: this destination cannot be read back, so it has no tables to read`, stream.name);
    const column = (stream as unknown as TablesStreamOptions).source_column;
    for (const [label, table] of tablesOf(stream)) {
      for await (const rows of read(table, [])) {
        const out: Row[] = new Array(rows.length);
        for (let i = 0; i < rows.length; i++) out[i] = { ...rows[i], [column]: label };
        yield { rows: out };
      }
    }
    yield { rows: [], checkpoint: { version: 1, connector: { read_at: new Date().toISOString() } } };
  }
}
