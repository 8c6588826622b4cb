// Streams of one run that read what another loads — a `tables` stream over staging tables the run's other streams
// fill — run after those streams have committed; the rest run as `concurrency` allows. The order is worked out before
// any work (../core/read-order.ts, as validation does), and a cycle is a configuration error.
import { getSourceSpec } from '../connectors/registry.js';
import type { LoadedPipeline } from '../config/types.js';
import { ConfigError } from '../core/errors.js';
import { readOrder } from '../core/read-order.js';
import type { StreamTask } from './stream-task.js';

/** The tasks, each after those whose tables it reads, and what each needs; a cycle is refused. */
export function orderTasks(loaded: LoadedPipeline, tasks: StreamTask[]): { ordered: StreamTask[]; needs: Map<StreamTask, StreamTask[]> } {
  const { order, needs, cycle } = readOrder(tasks.map((t) => {
    const source = loaded.config.sources.find((s) => s.name === t.source)!;
    return { item: t, name: t.stream.name, table: t.stream.destination_table ?? t.stream.name, reads: getSourceSpec(source.type)?.reads?.(t.stream, source) ?? [] };
  }));
  if (cycle) {
    throw new ConfigError(`streams read each other's tables in a cycle: ${cycle.names.join(' → ')}`, { file: loaded.file, path: `sources.streams.${cycle.at.stream.name}.tables` });
  }
  return { ordered: order, needs };
}
