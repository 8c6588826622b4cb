import { useState } from 'preact/hooks';
import { enc, post } from '../api.js';
import { ActionButton } from '../components/action.js';
import { PipelineAudit } from '../components/audit.js';
import { Badge, HealthBadge } from '../components/badge.js';
import { duration, num, relative, sum, time } from '../format.js';
import { href, useApi, useNow } from '../hooks.js';
import { needsText, useCanAct, useNotices } from '../session.js';
import type { Pipeline, RunSummary, Schedule } from '../types.js';
import { DataTab } from './pipeline-data.js';
import { StateTab } from './pipeline-state.js';
import { TrendsTab } from './pipeline-trends.js';

const TABS = [['runs', 'Runs'], ['trends', 'Trends'], ['state', 'State'], ['data', 'Data'], ['audit', 'Audit']] as const;

function scheduleText(s: Schedule | null): string {
  if (!s) return 'no schedule: runs when triggered';
  const parts = [s.cron ? `cron ${s.cron} (${s.timezone})` : s.every ? `every ${s.every}` : '', s.after.length ? `after ${s.after.join(', ')}` : ''];
  return parts.filter(Boolean).join(', ') + (s.enabled ? '' : ' — disabled in the file');
}

function BackfillForm({ name, onDone }: { name: string; onDone(): void }) {
  const [form, setForm] = useState({ from: '', to: '', by: '', streams: '' });
  const notices = useNotices();
  const canAct = useCanAct();
  const set = (k: keyof typeof form) => (e: Event) => setForm({ ...form, [k]: (e.currentTarget as HTMLInputElement).value });
  const submit = async (e: Event) => {
    e.preventDefault();
    const streams = form.streams.split(',').map((s) => s.trim()).filter(Boolean);
    try {
      const r = await post<{ id: string }>(`/api/pipelines/${enc(name)}/backfills`, {
        from: form.from, to: form.to, ...(form.by ? { by: form.by } : {}), ...(streams.length ? { streams } : {}),
      });
      notices.info(`Backfill ${r.id} started for ${name}.`);
      onDone();
    } catch {
      // reported by api.ts
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} data-testid="backfill-form">
      <label>From <input required value={form.from} onInput={set('from')} placeholder="2024-01-01" /></label>
      <label>To <input required value={form.to} onInput={set('to')} placeholder="2024-02-01" /></label>
      <label>Step <input value={form.by} onInput={set('by')} placeholder="1d (optional)" size={10} /></label>
      <label>Streams <input value={form.streams} onInput={set('streams')} placeholder="all" size={14} /></label>
      <button type="submit" class="primary" disabled={!canAct} title={canAct ? undefined : needsText('operator')}>Start backfill</button>
      <button type="button" onClick={onDone}>Cancel</button>
    </form>
  );
}

function RunsTab({ runs }: { runs: RunSummary[] | undefined }) {
  if (!runs) return <p class="dim">Loading…</p>;
  if (runs.length === 0) return <p class="dim">No runs yet.</p>;
  return (
    <div class="scroll">
      <table class="grid">
        <thead>
          <tr><th>Run</th><th>Status</th><th>Started</th><th class="num">Duration</th><th class="num">Loaded</th><th class="num">Dead-lettered</th><th /></tr>
        </thead>
        <tbody>
          {runs.map((r) => {
            const streams = Object.values(r.streams ?? {});
            const dead = sum(streams.map((s) => s.dead_lettered));
            return (
              <tr key={r.run_id} data-testid="run-row" data-run={r.run_id}>
                <td><a href={href(['runs', r.run_id])} class="mono">{r.run_id}</a></td>
                <td><Badge value={r.status} /></td>
                <td class="nowrap">{time(r.started_at)}</td>
                <td class="num">{duration(r.duration_ms)}</td>
                <td class="num">{num(sum(streams.map((s) => s.loaded)))}</td>
                <td class="num">{dead > 0 ? <a href={href(['dlq'], { pipeline: r.pipeline, run_id: r.run_id })} class="warn-text">{num(dead)}</a> : '0'}</td>
                <td>
                  {r.status !== 'running' && (
                    <ActionButton testid="rerun" title="Run the failed streams of this run again"
                      run={async () => { await post(`/api/runs/${enc(r.run_id)}/rerun`); return `Rerun of ${r.run_id} queued.`; }}>Rerun</ActionButton>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function PipelinePage({ name, tab }: { name: string; tab: string }) {
  const p = useApi<Pipeline>(`/api/pipelines/${enc(name)}`, 5000);
  const runs = useApi<{ runs: RunSummary[] }>(`/api/runs?pipeline=${enc(name)}&limit=50`, 5000);
  const [backfill, setBackfill] = useState(false);
  const now = useNow();
  const pl = p.data;
  const act = (path: string, said: string) => async () => {
    await post(`/api/pipelines/${enc(name)}/${path}`);
    p.reload();
    runs.reload();
    return said;
  };

  if (p.error?.status === 404 && !pl) return <p class="dim">No pipeline “{name}” is served. <a href="#/">All pipelines</a></p>;

  return (
    <>
      <section class="page-head">
        <div>
          <h1>{name} {pl?.paused && <span class="tag" data-testid="paused" title={pl.paused_by ? `paused by ${pl.paused_by}` : undefined}>paused</span>}</h1>
          {pl?.description && <p class="dim">{pl.description}</p>}
          {pl && (
            <p class="facts">
              <HealthBadge health={pl.health} />
              <span>{scheduleText(pl.schedule)}</span>
              {pl.schedule && !pl.paused && <span title={pl.next_run ?? undefined}>next {relative(pl.next_run, now)}</span>}
              <span title={pl.last_success_at ?? undefined}>last success {relative(pl.last_success_at, now)}</span>
              {pl.running && <a href={href(['runs', pl.running.run_id])}><Badge value="running" /></a>}
            </p>
          )}
          {pl?.invalid && <pre class="error-text">{pl.invalid}</pre>}
          {pl?.health && pl.health.issues.length > 0 && <ul class="issues">{pl.health.issues.map((i) => <li key={i}>{i}</li>)}</ul>}
        </div>
        <div class="actions">
          <ActionButton primary testid="run-now" run={act('runs', `Run of ${name} queued.`)}>Run now</ActionButton>
          <button type="button" onClick={() => setBackfill(!backfill)} data-testid="backfill">Backfill…</button>
          {pl?.paused
            ? <ActionButton testid="resume" run={act('resume', `Schedule of ${name} resumed.`)}>Resume schedule</ActionButton>
            : <ActionButton testid="pause" run={act('pause', `Schedule of ${name} paused.`)} title="Scheduled runs stop; Run now still works">Pause schedule</ActionButton>}
          <a class="button" href={href(['dlq'], { pipeline: name })}>Dead letters</a>
        </div>
      </section>
      {backfill && <BackfillForm name={name} onDone={() => setBackfill(false)} />}
      <nav class="tabs">
        {TABS.map(([id, label]) => <a key={id} href={href(['pipelines', name, id])} class={tab === id ? 'active' : undefined}>{label}</a>)}
      </nav>
      <section>
        {tab === 'runs' && <RunsTab runs={runs.data?.runs} />}
        {tab === 'trends' && <TrendsTab name={name} runs={runs.data?.runs} />}
        {tab === 'state' && <StateTab name={name} />}
        {tab === 'data' && <DataTab name={name} />}
        {tab === 'audit' && <PipelineAudit pipeline={name} />}
      </section>
    </>
  );
}
