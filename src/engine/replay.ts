// `sluice dlq replay`: dead-lettered rows go through today's pipeline — schema, transforms, checks — and load.
// Rows that fail again stay in the DLQ with the new reason; the rest are marked replayed. Rows rejected while
// parsing have no row to replay (the source text itself is broken): they are reported, not retried.
import type { Source, StreamConfig } from '../core/connector.js';
import type { Batch, Row } from '../core/types.js';
import type { LoadedPipeline } from '../config/types.js';
import type { ControlStore, DlqEntry } from '../control/control-store.js';
import { openControlStore, sluiceHome } from '../control/open.js';
import { osUser, type RunOptions, type RunSummary, runPipeline } from './runner.js';
import { parseJson } from '../core/values/json-parse.js';
import { isMaskedPayload, piiOf } from '../core/pii.js';

export interface ReplayResult {
  summary: RunSummary | undefined;
  replayed: number;
  still_failing: number;
  not_replayable: number;
}

export async function replayDlq(
  loaded: LoadedPipeline, opts: Pick<RunOptions, 'logger' | 'home' | 'streams' | 'actor'> & { ids?: number[]; store?: ControlStore },
): Promise<ReplayResult> {
  const store = opts.store ?? openControlStore(opts.home ?? sluiceHome());
  try {
    const pipeline = loaded.config.pipeline;
    const entries = await store.listDlq({ pipeline, ids: opts.ids });
    const wanted = entries.filter((e) => !opts.streams?.length || opts.streams.includes(e.stream));
    // Not replayable either: an entry encrypted with a key this process lacks, and one whose personal values were masked
    // (stored without a key: replaying it would load the mask).
    const pii = new Map(loaded.config.sources.flatMap((src) => src.streams.map((st) => [st.name, piiOf(st)] as const)));
    const replayable = wanted.filter((e) => e.stage !== 'parse' && !e.undecryptable && !isMaskedPayload(e.raw, pii.get(e.stream) ?? []));
    const streams = [...new Set(replayable.map((e) => e.stream))];
    if (!streams.length) return { summary: undefined, replayed: 0, still_failing: 0, not_replayable: wanted.length };

    const sources: Record<string, Source> = {};
    for (const s of loaded.config.sources) sources[s.name] = new DlqReplaySource(replayable);
    const summary = await runPipeline(loaded, { ...opts, streams, store, sources, replay: true });
    const after = await store.listDlq({ pipeline, ids: replayable.map((e) => e.id!), includeReplayed: true });
    // An entry the replay rejected again was rewritten with the replay's run id.
    const done = summary.status === 'failed' ? [] : after.filter((e) => e.runId !== summary.run_id).map((e) => e.id!);
    await store.markReplayed(done);
    await store.appendAudit({
      actor: opts.actor ?? osUser(), action: 'dlq.replay', pipeline, runId: summary.run_id,
      detail: { streams, ids: opts.ids ?? null, replayed: done.length, still_failing: replayable.length - done.length },
    });
    return { summary, replayed: done.length, still_failing: replayable.length - done.length, not_replayable: wanted.length - replayable.length };
  } finally {
    if (!opts.store) await store.close();
  }
}

/** A source that yields the dead-lettered rows of a stream, with the state it was given as the checkpoint. */
class DlqReplaySource implements Source {
  readonly type = 'dlq-replay';
  constructor(private readonly entries: DlqEntry[]) {}

  async *read(stream: StreamConfig, state: Parameters<Source['read']>[1]): AsyncIterable<Batch> {
    const mine = this.entries.filter((e) => e.stream === stream.name);
    const rows: Row[] = mine.map((e) => parseJson(e.raw) as Row);
    yield { rows, positionOf: (i) => mine[i].position, checkpoint: state ?? { version: 1 } };
  }
}
