// Rows of another stream of the pipeline, for lookups: read in full from its source (no state: the whole stream,
// whatever was loaded before), as the source gives them — before that stream's own transforms.
import type { RunContext, Source } from '../core/connector.js';
import { ConfigError } from '../core/errors.js';
import { batchLength, rowAt, type Row } from '../core/types.js';
import type { PipelineConfig, SourceConfig } from '../config/types.js';
import { getSourceSpec } from '../connectors/registry.js';

/**
 * A reader of any stream of `config`. It uses a source instance the run already connected (`connected`), or
 * creates and connects one and adds it to `connected`, so the runner closes it with the others. A replay (`fresh`)
 * has replaced the run's sources with dead-letter readers: lookups then read real sources of their own.
 */
export function streamReader(
  config: PipelineConfig, connected: Map<string, Source>, ctx: RunContext, instances: Record<string, Source> = {}, fresh = false,
): (stream: string) => AsyncIterable<Row[]> {
  // Lookups run concurrently: the first reader of a source creates and connects it, the others wait for that.
  const opening = new Map<string, Promise<Source>>();
  const open = async (key: string, src: SourceConfig): Promise<Source> => {
    const source = (!fresh && instances[src.name]) || await getSourceSpec(src.type)!.create(src);
    connected.set(key, source);
    await source.connect?.(ctx);
    return source;
  };
  return async function* read(name: string) {
    const src = config.sources.find((s) => s.streams.some((st) => st.name === name));
    if (!src) throw new ConfigError(`lookup: no source declares a stream "${name}"`);
    const key = fresh ? `lookup:${src.name}` : src.name;
    // A source still connecting is in `connected` already: wait for it through `opening`.
    let source = opening.has(key) ? await opening.get(key)! : connected.get(key);
    if (!source) {
      opening.set(key, open(key, src));
      source = await opening.get(key)!;
    }
    const stream = src.streams.find((st) => st.name === name)!;
    for await (const batch of source.read(stream, undefined, ctx)) {
      const n = batchLength(batch);
      const rows = new Array<Row>(n);
      for (let i = 0; i < n; i++) rows[i] = rowAt(batch, i);
      yield rows;
    }
  };
}
