// The bridge between a stream task and its checks: builds the check environment from what the task has (the
// destination's tables, the pipeline's other streams, the run history in the control store), so stream-task.ts
// only calls bind / row / finish.
import type { Destination, Source, RunContext, StreamConfig } from '../core/connector.js';
import type { Row, WriteDisposition } from '../core/types.js';
import type { ControlStore } from '../control/control-store.js';
import type { CheckConfig } from '../quality/check.js';
import { StreamQuality } from '../quality/stream-quality.js';

export type { StreamQualityReport } from '../quality/stream-quality.js';

interface TaskLike {
  pipeline: string;
  runId: string;
  stream: StreamConfig;
  fullRefresh: boolean;
  replay?: boolean;
  checks?: CheckConfig[];
}

interface DepsLike {
  source: Source;
  destination: Destination;
  store: ControlStore;
  ctx: RunContext;
  readStream?: (stream: string) => AsyncIterable<Row[]>;
}

/** The stream's checks, compiled and prepared (reference keys read), or undefined when it has none. */
export async function openStreamQuality(
  task: TaskLike, deps: DepsLike, tracker: { target(name: string): string | undefined }, disposition: WriteDisposition,
): Promise<StreamQuality | undefined> {
  if (!task.checks?.length) return undefined;
  const { stream } = task;
  const quality = new StreamQuality(task.checks, {
    pipeline: task.pipeline,
    stream: stream.name,
    ...(stream.cursor ? { cursor: stream.cursor } : {}),
    readStream: deps.readStream,
    readTable: deps.destination.readTable?.bind(deps.destination),
    targetTable: stream.destination_table ?? stream.name,
    targetColumn: (c) => tracker.target(c) ?? c,
    // A replaced target's rows do not count; nor do they for a replay, which re-sends rows the target never took.
    targetKept: disposition !== 'replace' && !task.replay,
    history: async (limit) => (await deps.store.streamHistory(task.pipeline, stream.name, limit, task.runId)).map((c) => c.loaded),
  }, { gates: !task.replay });
  await quality.prepare();
  return quality;
}
