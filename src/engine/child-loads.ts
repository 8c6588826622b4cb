// The child tables a `flatten` step produces (`<stream>__<column>`, as dlt does), loaded in the same run as their
// parent: one schema tracker and one destination load per child, opened on the first child rows. Children commit
// right before their parent at every checkpoint and finish right before it, so a parent row is never visible
// before its children. A child row the schema rejects goes to the dead-letter queue under the child stream's name.
//
// How child rows land depends on the parent's disposition and on the destination:
//   parent replaced (full refresh, `write: replace`)   the child tables are replaced too
//   otherwise, destination declares `replaceGroups`     each parent replaces its child rows (dlt's delete-insert):
//       (PostgreSQL, DuckDB, MySQL, SQLite)             the load gets `replaceGroups: '_parent_key'` and flatten's
//                                                       marker rows (`_sluice_parent`, one per parent processed,
//                                                       never inserted) as its delete marker, so a changed, emptied,
//                                                       nulled or deleted parent keeps no stale children, and a
//                                                       checkpoint replayed after a crash (children committed, the
//                                                       parent not) duplicates nothing
//   otherwise (files)                                   children only append: a parent loaded again adds its
//                                                       children again, and a crash between the child's and the
//                                                       parent's commit duplicates that checkpoint's children
import type { Destination, StreamConfig, StreamLoad } from '../core/connector.js';
import type { Logger } from '../core/logger.js';
import type { Row, StreamState, WriteDisposition } from '../core/types.js';
import type { ControlStore } from '../control/control-store.js';
import { rowJson } from '../core/record.js';
import { DlqWriter } from './dlq-writer.js';
import { RowGate, type ValueRules } from './row-gate.js';
import { SchemaTracker, type SchemaChange } from './schema-tracker.js';
import { PARENT_MARKER } from '../transforms/steps/flatten.js';

/** Whether the children of a parent loaded with `disposition` replace each parent's rows (see above). */
export const replacesChildGroups = (destination: Destination, disposition: WriteDisposition): boolean =>
  disposition !== 'replace' && destination.capabilities.replaceGroups === true;

export interface ChildLoadOptions {
  pipeline: string;
  runId: string;
  /** How the parent loads: a replaced parent replaces its children; otherwise see replacesChildGroups. */
  disposition: WriteDisposition;
  fullRefresh: boolean;
  destination: Destination;
  store: ControlStore;
  logger: Logger;
  /** A dry run: child rows are made and dropped, nothing is loaded. */
  dryRun: boolean;
  /** The parent's rules for values (the destination's refusals, the stream's fixes): child values follow them too, with their own table's limits. */
  rules: ValueRules;
  /** The parent's `pii` columns: keys of those names in child rows are treated as personal too (core/pii.ts). */
  pii?: string[];
  /** The pipeline's `privacy.dlq: mask` (DlqWriter). */
  piiMask?: boolean;
}

interface Child {
  name: string;
  tracker: SchemaTracker;
  load: StreamLoad;
  dlq: DlqWriter;
  gate: RowGate;
  width: number;
  loaded: number;
  rejected: number;
}

const markers = (rows: Row[]): number => rows.reduce((n, r) => (r[PARENT_MARKER] === true ? n + 1 : n), 0);

export class ChildLoads {
  private readonly children = new Map<string, Child>();
  /** Each parent replaces its child rows (flatten makes marker rows); otherwise markers never reach a load. */
  private readonly groups: boolean;

  constructor(private readonly o: ChildLoadOptions) {
    this.groups = replacesChildGroups(o.destination, o.disposition);
  }

  private async open(name: string): Promise<Child> {
    let child = this.children.get(name);
    if (child) return child;
    const { destination, pipeline, runId } = this.o;
    const stored = this.o.fullRefresh ? undefined : await destination.readState(pipeline, name);
    const config: StreamConfig = {
      name, primary_key: [], write: 'append', on_schema_change: 'widen',
      columns: { _parent_key: 'text', _idx: 'integer', ...(this.groups ? { [PARENT_MARKER]: 'boolean' as const } : {}) },
    };
    const tracker = new SchemaTracker(config, stored?.schema, destination.capabilities.identifiers, new Set(), destination.capabilities);
    const target = (c: string): string => tracker.target(c) ?? c;
    const load = await destination.begin({
      pipeline, stream: name, table: name, disposition: this.o.disposition === 'replace' ? 'replace' : 'append', primaryKey: [], runId,
      fullRefresh: this.o.fullRefresh,
      ...(this.groups ? { replaceGroups: target('_parent_key'), deleteColumn: target(PARENT_MARKER) } : {}),
    });
    const gate = new RowGate([], false, undefined, null, null, false, { ...this.o.rules, column: (t) => load.refuses?.(t) });
    child = { name, tracker, load, dlq: new DlqWriter(this.o.store, pipeline, name, runId, false, this.o.pii, this.o.piiMask), gate, width: -1, loaded: 0, rejected: 0 };
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
      child.gate.rebind();
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
      const rejects = [...result.rejected];
      child.gate.bind(child.tracker.columns);
      const keep = result.rows.filter((row, i) => {
        const verdict = child.gate.check(row);
        if (typeof verdict === 'string') rejects.push({ index: result.accepted[i], reason: verdict });
        return typeof verdict !== 'string';
      });
      if (rejects.length) {
        child.rejected += await child.dlq.add(rejects.map((r) => ({ stage: 'schema' as const, reason: r.reason, raw: rowJson(list[r.index]), position: {} })));
      }
      if (keep.length) await child.load.write(keep);
      // Marker rows name parents; they are not child rows.
      child.loaded += keep.length - (this.groups ? markers(list) : 0);
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
