// Streams of one run that read what another loads — a `tables` stream over staging tables the run's other streams
// fill — run after those streams have committed; the rest run as `concurrency` allows. The order is worked out before
// any work, and a cycle (two streams each reading the other's table) is a configuration error.
import { getSourceSpec } from '../connectors/registry.js';
import type { LoadedPipeline } from '../config/types.js';
import { ConfigError } from '../core/errors.js';
import type { StreamTask } from './stream-task.js';

const tableOf = (t: StreamTask): string => t.stream.destination_table ?? t.stream.name;

/** For each task, the tasks of the run whose tables it reads. */
export function streamNeeds(loaded: LoadedPipeline, tasks: StreamTask[]): Map<StreamTask, StreamTask[]> {
  const loading = new Map<string, StreamTask[]>();
  for (const t of tasks) loading.set(tableOf(t), [...loading.get(tableOf(t)) ?? [], t]);
  const needs = new Map<StreamTask, StreamTask[]>();
  for (const t of tasks) {
    const type = loaded.config.sources.find((s) => s.name === t.source)!.type;
    const reads = getSourceSpec(type)?.reads?.(t.stream) ?? [];
    needs.set(t, reads.flatMap((table) => loading.get(table) ?? []).filter((d) => d !== t));
  }
  return needs;
}

/** The tasks with every task after those it needs (otherwise in file order); a cycle is refused. */
export function orderTasks(loaded: LoadedPipeline, tasks: StreamTask[], needs: Map<StreamTask, StreamTask[]>): StreamTask[] {
  const out: StreamTask[] = [];
  const state = new Map<StreamTask, 'visiting' | 'done'>();
  const visit = (t: StreamTask, path: StreamTask[]) => {
    if (state.get(t) === 'done') return;
    if (state.get(t) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(t)), t].map((x) => x.stream.name).join(' → ');
      throw new ConfigError(`streams read each other's tables in a cycle: ${cycle}`, { file: loaded.file, path: `sources.streams.${t.stream.name}.tables` });
    }
    state.set(t, 'visiting');
    for (const d of needs.get(t) ?? []) visit(d, [...path, t]);
    state.set(t, 'done');
    out.push(t);
  };
  for (const t of tasks) visit(t, []);
  return out;
}
