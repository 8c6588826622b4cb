// `sluice rerun <run-id>`: the failed streams of a failed run, again, from their committed state (each stream's
// checkpoints committed what they loaded; the rerun continues from there, exactly once). The pipeline file is the
// one the run was started from, as it reads today.
import type { ControlStore } from '../control/control-store.js';
import { ConfigError } from '../core/errors.js';

export interface RerunPlan {
  runId: string;
  pipeline: string;
  file: string;
  /** The streams to run again: those that failed, or all of the run's when it failed before any stream ran. */
  streams: string[] | undefined;
}

export async function planRerun(store: ControlStore, runId: string): Promise<RerunPlan> {
  const run = await store.getRun(runId);
  if (!run) throw new ConfigError(`no run "${runId}"`, { expected: 'a run id from `sluice runs`' });
  if (run.status !== 'failed') throw new ConfigError(`run ${runId} ended ${run.status}: only a failed run is rerun`, { expected: 'the id of a failed run' });
  if (!run.file) throw new ConfigError(`run ${runId} was not started from a pipeline file (library use): rerun it from your code`);
  const failed = run.streams.filter((s) => s.status === 'failed').map((s) => s.stream);
  const requested = (run.summary as { streams?: Record<string, unknown> } | null)?.streams;
  return {
    runId, pipeline: run.pipeline, file: run.file,
    streams: failed.length ? failed : requested && Object.keys(requested).length ? Object.keys(requested) : undefined,
  };
}
