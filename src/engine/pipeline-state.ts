// A pipeline's incremental state, kept in its destination beside the data (the exactly-once contract), read or reset
// outside a run: `sluice state` and the HTTP API.
import { getDestinationSpec } from '../connectors/registry.js';
import type { Destination, RunContext } from '../core/connector.js';
import { silentLogger } from '../core/logger.js';
import type { LoadedPipeline } from '../config/types.js';
import { sluiceHome } from '../control/open.js';

export function streamNames(loaded: LoadedPipeline, only?: string[]): string[] {
  const all = loaded.config.sources.flatMap((s) => s.streams.map((st) => st.name));
  return only?.length ? all.filter((n) => only.includes(n)) : all;
}

/** Connects to the pipeline's destination for `work` and closes it after. */
export async function withDestination<T>(loaded: LoadedPipeline, work: (dest: Destination) => Promise<T>, home = sluiceHome()): Promise<T> {
  const dest = await getDestinationSpec(loaded.config.destination.type)!.create(loaded.config.destination);
  try {
    const ctx: RunContext = {
      pipeline: loaded.config.pipeline, runId: 'state', logger: silentLogger(), signal: new AbortController().signal,
      baseDir: loaded.baseDir, home, batchSize: loaded.config.batch_size,
    };
    await dest.connect(ctx);
    return await work(dest);
  } finally {
    await dest.close().catch(() => undefined);
  }
}

/** Each stream's saved state in a connected destination (null when it has none yet). */
export async function streamStates(loaded: LoadedPipeline, dest: Destination, only?: string[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const name of streamNames(loaded, only)) out[name] = (await dest.readState(loaded.config.pipeline, name)) ?? null;
  return out;
}

/** Each stream's saved state, connecting to the destination for it. */
export function readState(loaded: LoadedPipeline, only?: string[], home?: string): Promise<Record<string, unknown>> {
  return withDestination(loaded, (dest) => streamStates(loaded, dest, only), home);
}
