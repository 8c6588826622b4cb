// The child tables a `flatten` step produces (`<stream>__<column>`, as dlt does), loaded in the same run as their
// parent: one schema tracker and one destination load per child, opened on the first child rows. Children commit
// right before their parent at every checkpoint and finish right before it, so a parent row is never visible
// before its children. They always append (replace when the parent is reloaded by a full refresh); a child row
// the schema rejects goes to the dead-letter queue under the child stream's name.
import type { Destination, StreamConfig, StreamLoad } from '../core/connector.js';
import type { Logger } from '../core/logger.js';
import type { Row, StreamState } from '../core/types.js';
import type { ControlStore } from '../control/control-store.js';
import { DlqWriter } from '../engine/dlq-writer.js';
import { SchemaTracker, type SchemaChange } from '../engine/schema-tracker.js';

export interface ChildLoadOptions {
  pipeline: string;
  runId: string;
  /** The parent is replaced (a full refresh or `write: replace`): so are its children. */
  replace: boolean;
  fullRefresh: boolean;
  destination: Destination;
  store: ControlStore;
  logger: Logger;
  /** A dry run: child rows are made and dropped, nothing is loaded. */
  dryRun: boolean;
}

interface Child {
  name: string;
  tracker: SchemaTracker;
  load: StreamLoad;
  dlq: DlqWriter;
  width: number;
  loaded: number;
  rejected: number;
}

const rowJson = (row: Row): string => JSON.stringify(row, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));

export class ChildLoads {
  private readonly children = new Map<string, Child>();

  constructor(private readonly o: ChildLoadOptions) {}

  private async open(name: string): Promise<Child> {
    let child = this.children.get(name);
    if (child) return child;
    const { destination, pipeline, runId } = this.o;
    const stored = this.o.fullRefresh ? undefined : await destination.readState(pipeline, name);
    const config: StreamConfig = {
      name, primary_key: [], write: 'append', on_schema_change: 'widen', columns: { _parent_key: 'text', _idx: 'integer' },
    };
    const tracker = new SchemaTracker(config, stored?.schema, destination.capabilities.identifiers);
    const load = await destination.begin({
      pipeline, stream: name, table: name, disposition: this.o.replace ? 'replace' : 'append', primaryKey: [], runId, fullRefresh: this.o.fullRefresh,
    });
    child = { name, tracker, load, dlq: new DlqWriter(this.o.store, pipeline, name, runId, false), width: -1, loaded: 0, rejected: 0 };
    this.children.set(name, child);
    return child;
  }

  private async evolve(child: Child, changes: SchemaChange[]): Promise<void> {
    for (const c of changes) {
      await this.o.store.recordSchemaChange({ runId: this.o.runId, stream: child.name, change: c.change, column: c.column, from: c.from, to: c.to });
    }
    if (changes.length || child.width !== child.tracker.columns.length) {
      await child.load.evolve(child.tracker.schema);
      child.width = child.tracker.columns.length;
    }
  }

  /** Load the child rows of one batch. */
  async write(rows: Map<string, Row[]>): Promise<void> {
    if (this.o.dryRun) return;
    for (const [name, list] of rows) {
      if (!list.length) continue;
      const child = await this.open(name);
      await this.evolve(child, child.tracker.addColumns(list));
      let result = child.tracker.coerce(list);
      while (result.changes.length) {
        await this.evolve(child, result.changes);
        result = child.tracker.coerce(list);
      }
      if (result.rejected.length) {
        child.rejected += await child.dlq.add(result.rejected.map((r) => ({ stage: 'schema' as const, reason: r.reason, raw: rowJson(list[r.index]), position: {} })));
      }
      if (result.rows.length) await child.load.write(result.rows);
      child.loaded += result.rows.length;
    }
  }

  private state(child: Child): StreamState {
    return { version: 1, schema: child.tracker.schema };
  }

  async commit(): Promise<void> {
    for (const child of this.children.values()) await child.load.commit(this.state(child));
  }

  async finish(): Promise<void> {
    for (const child of this.children.values()) {
      await child.load.finish(this.state(child));
      this.o.logger.info({ stream: child.name, loaded: child.loaded, dead_lettered: child.rejected }, 'child table loaded');
    }
    this.children.clear();
  }

  async abort(): Promise<void> {
    for (const child of this.children.values()) await child.load.abort();
    this.children.clear();
  }
}
