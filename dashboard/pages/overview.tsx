import { useMemo } from 'preact/hooks';
import { Badge, HealthBadge } from '../components/badge.js';
import { Sparkline } from '../components/sparkline.js';
import { duration, num, relative, sum } from '../format.js';
import { href, useApi, useNow } from '../hooks.js';
import type { Alert, Pipeline, PipelineList, RunSummary, Sync } from '../types.js';

export function AlertList({ alerts }: { alerts: Alert[] }) {
  return (
    <ul class="alerts">
      {alerts.map((a) => (
        <li key={`${a.rule}|${a.pipeline}|${a.stream}`} class={`alert ${a.status}`}>
          <Badge value={a.status === 'firing' ? a.severity : 'resolved'} />{' '}
          {/* An invalid file's alert names the file, which has no page. */}
          {a.pipeline.includes('/') ? <code>{a.pipeline}</code> : <a href={href(['pipelines', a.pipeline])}>{a.pipeline}</a>}{a.stream && <span class="dim"> / {a.stream}</span>}{' '}
          <span>{a.summary}</span>{' '}
          <span class="dim" title={a.openedAt}>opened {relative(a.openedAt)}{a.resolvedAt && `, resolved ${relative(a.resolvedAt)}`}</span>
        </li>
      ))}
    </ul>
  );
}

function Row({ p, last, now }: { p: Pipeline; last: RunSummary | undefined; now: number }) {
  const recent = p.recent_runs?.find((r) => r.status !== 'running');
  const loaded = recent?.loaded ?? (last?.streams ? sum(Object.values(last.streams).map((s) => s.loaded)) : undefined);
  const took = recent?.duration_ms ?? last?.duration_ms;
  // The latest run that measured anything: an incremental run that found no new rows has no score.
  const quality = p.recent_runs?.find((r) => typeof r.quality_score === 'number')?.quality_score ?? last?.quality?.score;
  const status = p.running ? 'running' : p.last_run?.status;
  const runId = p.running?.run_id ?? p.last_run?.run_id;
  return (
    <tr data-testid="pipeline-row" data-pipeline={p.name}>
      <td>
        <a href={href(['pipelines', p.name])} class="strong">{p.name}</a>
        {p.paused && <span class="tag" data-testid="paused" title={p.paused_by ? `paused by ${p.paused_by}` : undefined}>paused</span>}
        {p.invalid && <div class="bad-text small">{p.invalid}</div>}
        {p.description && <div class="dim small clip" title={p.description}>{p.description}</div>}
      </td>
      <td><HealthBadge health={p.health} /></td>
      <td>{runId ? <a href={href(['runs', runId])}><Badge value={status} /></a> : <span class="dim">never run</span>}</td>
      <td class="num">{duration(took)}</td>
      <td class="num">{num(loaded)}</td>
      <td title={p.next_run ?? undefined}>{p.paused ? <span class="dim">paused</span> : p.schedule ? relative(p.next_run, now) : <span class="dim">unscheduled</span>}</td>
      <td title={p.last_success_at ?? undefined}>{relative(p.last_success_at, now)}</td>
      <td class="num">{quality ?? '—'}</td>
      <td><Sparkline runs={p.recent_runs} /></td>
    </tr>
  );
}

export function Overview() {
  const list = useApi<PipelineList>('/api/pipelines', 5000);
  const alerts = useApi<{ alerts: Alert[] }>('/api/alerts?status=firing', 5000);
  // Only for a server without recent_runs: the last run's duration, rows and quality from the latest runs of all
  // pipelines, less often (the server reads each run's summary for this list).
  const older = list.data?.pipelines.some((p) => !p.recent_runs) ?? false;
  const runs = useApi<{ runs: RunSummary[] }>(older ? '/api/runs?limit=50' : null, 15000);
  const syncs = useApi<{ syncs: Sync[] }>('/api/syncs', 15000, [404]);
  const now = useNow();
  const last = useMemo(() => {
    const m = new Map<string, RunSummary>();
    for (const r of runs.data?.runs ?? []) if (!m.has(r.pipeline) && r.status !== 'running') m.set(r.pipeline, r);
    return m;
  }, [runs.data]);

  const firing = alerts.data?.alerts ?? [];
  const pipelines = list.data?.pipelines ?? [];
  return (
    <>
      {firing.length > 0 && (
        <section>
          <h2>Firing alerts <span class="count">{firing.length}</span></h2>
          <AlertList alerts={firing} />
        </section>
      )}
      <section>
        <h2>Pipelines <span class="count">{pipelines.length}</span></h2>
        {!list.data ? <p class="dim">Loading…</p> : (
          <div class="scroll">
            <table class="grid">
              <thead>
                <tr>
                  <th>Pipeline</th><th>Health</th><th>Last run</th><th class="num">Duration</th><th class="num">Rows loaded</th>
                  <th>Next run</th><th>Last success</th><th class="num">Quality</th><th title="Durations of the recent runs">Trend</th>
                </tr>
              </thead>
              <tbody>
                {pipelines.map((p) => <Row key={p.name} p={p} last={last.get(p.name)} now={now} />)}
                {pipelines.length === 0 && <tr><td colSpan={9} class="dim">No pipelines are served.</td></tr>}
              </tbody>
            </table>
          </div>
        )}
      </section>
      {(list.data?.invalid_files.length ?? 0) > 0 && (
        <section>
          <h2>Invalid files</h2>
          <ul class="plain">
            {list.data?.invalid_files.map((f) => <li key={f.file}><code>{f.file}</code><pre class="error-text">{f.error}</pre></li>)}
          </ul>
        </section>
      )}
      {(syncs.data?.syncs.length ?? 0) > 0 && (
        <section>
          <h2>Syncs</h2>
          <div class="scroll">
            <table class="grid">
              <thead><tr><th>Sync</th><th>Mode</th><th>Last run</th><th>Next run</th><th>Streams</th></tr></thead>
              <tbody>
                {syncs.data?.syncs.map((s) => (
                  <tr key={s.name}>
                    <td class="strong">{s.name}{s.invalid && <div class="bad-text small">{s.invalid}</div>}</td>
                    <td>{s.mode}</td>
                    <td>{s.last_run ? <a href={href(['runs', s.last_run.run_id])}><Badge value={s.last_run.status} /></a> : '—'}</td>
                    <td>{relative(s.next_run, now)}</td>
                    <td>{(s.streams ?? []).map((x) => `${x.stream}: ${x.state}${x.lag_seconds !== null ? ` (lag ${duration(x.lag_seconds * 1000)})` : ''}`).join(', ') || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}
    </>
  );
}
