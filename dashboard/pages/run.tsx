import { useEffect, useState } from 'preact/hooks';
import { enc, post } from '../api.js';
import { ActionButton } from '../components/action.js';
import { AuditTable } from '../components/audit.js';
import { Badge } from '../components/badge.js';
import { Gantt } from '../components/gantt.js';
import { Logs } from '../components/logs.js';
import { duration, num, pct, time } from '../format.js';
import { href, useApi, useNow } from '../hooks.js';
import type { Counts, Quality, RunDetail, StepRow } from '../types.js';

const FLOW = ['extracted', 'loaded', 'dead_lettered', 'filtered'] as const;
const WRITES = ['inserted', 'updated', 'deleted'] as const;
const isLive = (status: string | undefined) => status === 'running' || status === 'queued';

/** Every row read ends loaded, dead-lettered or filtered; a gap is a bug worth seeing, unless the run is still going. */
function CountsTable({ counts, live, pipeline, runId }: { counts: [string, Counts][]; live: boolean; pipeline: string; runId: string }) {
  return (
    <div class="scroll">
      <table class="grid counts">
        <thead>
          <tr>
            <th>Stream</th><th class="num">Extracted</th><th /><th class="num">Loaded</th><th /><th class="num">Dead-lettered</th><th />
            <th class="num">Filtered</th><th>Check</th><th class="num">Inserted</th><th class="num">Updated</th><th class="num">Deleted</th>
          </tr>
        </thead>
        <tbody>
          {counts.map(([stream, c]) => {
            const [e, l, d, f] = FLOW.map((k) => c[k] ?? 0);
            const gap = e - (l + d + f);
            return (
              <tr key={stream} data-testid="stream-counts" data-stream={stream} data-balanced={String(gap === 0)}>
                <td class="strong">{stream}</td>
                <td class="num" data-count="extracted">{num(c.extracted)}</td><td class="op">=</td>
                <td class="num" data-count="loaded">{num(c.loaded)}</td><td class="op">+</td>
                <td class="num" data-count="dead_lettered">
                  {d > 0 ? <a href={href(['dlq'], { pipeline, stream, run_id: runId })} class="warn-text">{num(d)}</a> : num(c.dead_lettered)}
                </td><td class="op">+</td>
                <td class="num" data-count="filtered">{num(c.filtered)}</td>
                <td>{gap === 0 ? <span class="ok-text" title="extracted = loaded + dead-lettered + filtered">✓ adds up</span>
                  : live ? <span class="dim" title="rows still in flight">{num(gap)} in flight</span>
                    : <span class="bad-text" data-testid="counts-mismatch">✗ off by {num(gap)}</span>}</td>
                {WRITES.map((k) => <td key={k} class="num" data-count={k}>{num(c[k])}</td>)}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function QualityView({ q }: { q: Quality }) {
  const streams = Object.entries(q.streams ?? {});
  return (
    <>
      <p>Run score <strong>{q.score ?? '—'}</strong></p>
      {streams.map(([s, sq]) => (
        <div key={s} class="card">
          <h3>{s} <span class="dim">score {sq.score ?? '—'}{sq.rows !== undefined && `, ${num(sq.rows)} rows`}</span></h3>
          <p class="facts">
            <span>completeness {pct(sq.completeness)}</span><span>validity {pct(sq.validity)}</span>
            <span>consistency {pct(sq.consistency)}</span><span>timeliness {pct(sq.timeliness)}</span>
          </p>
          {(sq.checks ?? []).length > 0 && (
            <ul class="plain">
              {sq.checks?.map((c) => (
                <li key={c.check}>
                  <span class={c.ok ? 'ok-text' : c.severity === 'error' ? 'bad-text' : 'warn-text'}>{c.ok ? '✓' : '✗'}</span>{' '}
                  <code>{c.check}</code> <span class="dim">{c.severity}{c.failed ? `, ${num(c.failed)} failed` : ''}</span>
                </li>
              ))}
            </ul>
          )}
        </div>
      ))}
    </>
  );
}

export function RunPage({ id }: { id: string }) {
  const [poll, setPoll] = useState(false);
  // Polled each second while the run goes on; the answer that says it ended turns the polling off.
  const fetched = useApi<RunDetail>(`/api/runs/${enc(id)}`, poll ? 1000 : 0);
  const run = fetched.data;
  const running = isLive(run?.status);
  useEffect(() => setPoll(running), [running]);
  const now = useNow(running ? 1000 : 60000);
  if (!run) return <p class="dim">{fetched.error ? 'This run could not be loaded.' : 'Loading…'}</p>;

  const streamCounts = new Map<string, Counts>();
  for (const [s, c] of Object.entries(run.summary?.streams ?? {})) streamCounts.set(s, c);
  for (const s of run.streams ?? []) if (s.counts) streamCounts.set(s.stream, s.counts);
  if (running) for (const [s, c] of Object.entries(run.live ?? {})) streamCounts.set(s, c);
  const phases = Object.entries(run.phases_by_stream ?? {});
  const errors = [
    ...(run.error ? [['run', run.error]] : []),
    ...(run.streams ?? []).filter((s) => s.error).map((s) => [s.stream, s.error as string]),
    ...phases.flatMap(([s, ps]) => ps.filter((p) => p.error).map((p) => [`${s} / ${p.phase}`, p.error as string])),
  ];
  const elapsed = run.duration_ms ?? (run.started_at ? now - Date.parse(run.started_at) : null);

  return (
    <>
      <section class="page-head">
        <div>
          <p class="crumbs"><a href={href(['pipelines', run.pipeline])}>{run.pipeline}</a> / run</p>
          <h1 class="mono">{run.run_id}</h1>
          <p class="facts">
            <Badge value={run.status} testid="run-status" />
            <span>started {time(run.started_at)}</span>
            {!running && <span>finished {time(run.finished_at)}</span>}
            <span>{running ? 'running for' : 'took'} {duration(elapsed)}</span>
            {running && <span class="live-dot" title="updated every second">live</span>}
          </p>
        </div>
        <div class="actions">
          {!running && (
            <ActionButton testid="rerun" run={async () => { await post(`/api/runs/${enc(run.run_id)}/rerun`); return `Rerun of ${run.run_id} queued.`; }}>Rerun</ActionButton>
          )}
          <a class="button" href={href(['dlq'], { pipeline: run.pipeline, run_id: run.run_id })}>Dead letters</a>
        </div>
      </section>

      {errors.length > 0 && (
        <section>
          <h2>Errors</h2>
          {errors.map(([where, e], i) => <div key={i} class="error-block"><strong>{where}</strong><pre class="error-text">{e}</pre></div>)}
        </section>
      )}

      <section>
        <h2>Rows</h2>
        {streamCounts.size ? <CountsTable counts={[...streamCounts]} live={running} pipeline={run.pipeline} runId={run.run_id} /> : <p class="dim">No counts yet.</p>}
      </section>

      <section>
        <h2>Timeline</h2>
        {phases.length === 0 && <p class="dim">No phases recorded yet.</p>}
        <div class="cards">
          {phases.map(([s, ps]) => (
            <div class="card" key={s}>
              <h3>{s}</h3>
              <Gantt stream={s} phases={ps} startedAt={run.started_at} finishedAt={running ? null : run.finished_at} now={now} />
            </div>
          ))}
        </div>
      </section>

      {Object.keys(run.steps_by_stream ?? {}).length > 0 && (
        <section>
          <h2>Transformers</h2>
          <div class="cards">
            {Object.entries(run.steps_by_stream ?? {}).map(([s, steps]) => (
              <div class="card" key={s} data-testid="steps" data-stream={s}>
                <h3>{s}</h3>
                <StepsTable steps={steps} />
              </div>
            ))}
          </div>
        </section>
      )}

      {(run.schema_changes ?? []).length > 0 && (
        <section>
          <h2>Schema changes <span class="count">{run.schema_changes?.length}</span></h2>
          {/* A first run adds every column of every stream: open, it would push the rest of the page far down. */}
          <details open={(run.schema_changes?.length ?? 0) <= 8}>
          <summary>Columns added, changed or dropped</summary>
          <div class="scroll">
            <table class="grid">
              <thead><tr><th>Stream</th><th>Change</th><th>Column</th><th>From</th><th>To</th></tr></thead>
              <tbody>
                {run.schema_changes?.map((c, i) => (
                  <tr key={i}>
                    <td>{String(c.stream ?? '')}</td><td>{String(c.change ?? '')}</td><td class="mono">{String(c.column ?? '')}</td>
                    <td>{c.from === undefined ? '—' : String(c.from)}</td><td>{c.to === undefined ? '—' : String(c.to)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          </details>
        </section>
      )}

      {run.quality && (run.quality.score !== null || Object.keys(run.quality.streams ?? {}).length > 0) && <section><h2>Quality</h2><QualityView q={run.quality} /></section>}

      <section>
        <h2>Logs</h2>
        <Logs runId={run.run_id} live={running} />
      </section>

      <section>
        <h2>Audit</h2>
        <AuditTable entries={run.audit ?? []} />
      </section>
    </>
  );
}

/** Each transform step's rows and time: what went in came out, failed (dead-lettered) or was filtered. */
function StepsTable({ steps }: { steps: StepRow[] }) {
  return (
    <div class="scroll">
      <table class="grid">
        <thead><tr><th>Step</th><th class="num">In</th><th class="num">Out</th><th class="num">Failed</th><th class="num">Filtered</th><th class="num">Time</th></tr></thead>
        <tbody>
          {steps.map((t) => (
            <tr key={t.step} data-step={`${t.step}:${t.name}`}>
              <td class="mono">{t.step}:{t.name}</td>
              <td class="num">{num(t.records_in)}</td>
              <td class="num">{num(t.records_out)}</td>
              <td class={`num${t.failed ? ' warn-text' : ''}`}>{num(t.failed)}</td>
              <td class="num">{num(t.filtered)}</td>
              <td class="num">{duration(t.duration_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
