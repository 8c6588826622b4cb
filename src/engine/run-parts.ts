// What stream tasks run against: the destination and the sources their streams read, connected, with the run's
// readers (lookups, and the destination read back for `tables` streams). One place opens and closes them, for the
// process that runs a whole pipeline and for a worker running one task of it on another machine.
import type { Destination, RunContext, Source } from '../core/connector.js';
import type { Row } from '../core/types.js';
import type { LoadedPipeline } from '../config/types.js';
import { getDestinationSpec, getSourceSpec } from '../connectors/registry.js';
import { streamReader } from './read-stream.js';
import type { StreamTask } from './stream-task.js';

export interface RunParts {
  destination: Destination;
  sources: Map<string, Source>;
  /** Rows of another stream of the pipeline, for lookups. */
  readStream: (stream: string) => AsyncIterable<Row[]>;
  close(): Promise<void>;
}

export interface PartOptions {
  /** Library use: instances instead of the registry (keyed by source name). */
  sources?: Record<string, Source>;
  destination?: Destination;
  /** Replaying the dead-letter queue: lookups read real sources of their own. */
  replay?: boolean;
  /** `destination` is lent (a worker keeps one per pipeline for its tasks): close() leaves it open. */
  keepDestination?: boolean;
}

/** Connect the destination and the sources of `tasks`; on a failure, what was opened is closed again. */
export async function openRunParts(loaded: LoadedPipeline, tasks: StreamTask[], ctx: RunContext, opts: PartOptions = {}): Promise<RunParts> {
  const { config } = loaded;
  const sources = new Map<string, Source>();
  let destination: Destination | undefined;
  const close = async () => {
    for (const s of sources.values()) await s.close?.().catch(() => undefined);
    if (!opts.keepDestination) await destination?.close().catch(() => undefined);
  };
  try {
    destination = opts.destination ?? await getDestinationSpec(config.destination.type)!.create(config.destination);
    await destination.connect(ctx);
    for (const src of config.sources) {
      if (!tasks.some((t) => t.source === src.name)) continue;
      const source = opts.sources?.[src.name] ?? await getSourceSpec(src.type)!.create(src);
      sources.set(src.name, source);
      await source.connect?.(ctx);
    }
  } catch (e) {
    await close();
    throw e;
  }
  const dest = destination;
  if (dest.readTable) ctx.readDestination = (table, columns) => dest.readTable!(table, columns);
  // One reader for the run: concurrent lookups of a source not yet open share one instance.
  const readStream = streamReader(config, sources, ctx, opts.sources, !!opts.replay);
  return { destination: dest, sources, readStream, close };
}
