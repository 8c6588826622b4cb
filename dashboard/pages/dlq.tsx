import { useMemo, useState } from 'preact/hooks';
import { del, post, qs } from '../api.js';
import { Badge } from '../components/badge.js';
import { num, pretty, time } from '../format.js';
import { href, useApi } from '../hooks.js';
import { needsText, useCan, useCanAct, useNotices } from '../session.js';
import type { DlqEntry, PipelineList } from '../types.js';

interface ReplayResult { replayed: number; still_failing: number; not_replayable: number; summary?: { run_id?: string } }

const position = (p: DlqEntry['position']) => {
  if (!p) return '—';
  const where = [p.file, p.line !== undefined ? `line ${p.line}` : '', p.page !== undefined ? `page ${p.page}` : '', p.offset !== undefined ? `offset ${p.offset}` : '', p.url];
  return where.filter(Boolean).join(', ') || JSON.stringify(p);
};

function Filters({ query, pipelines }: { query: URLSearchParams; pipelines: string[] }) {
  // Filters live in the address, so a filtered view can be linked to from a run and shared.
  const set = (k: string, v: string) => {
    const q = Object.fromEntries(query);
    q[k] = v;
    if (!v) delete q[k];
    location.hash = href(['dlq'], q);
  };
  const text = (k: string) => (e: Event) => set(k, (e.currentTarget as HTMLInputElement).value.trim());
  return (
    <>
      <label>Pipeline{' '}
        <select value={query.get('pipeline') ?? ''} onChange={(e) => set('pipeline', e.currentTarget.value)} data-testid="dlq-pipeline">
          <option value="">all</option>
          {pipelines.map((p) => <option key={p} value={p}>{p}</option>)}
        </select>
      </label>
      <label>Stream <input value={query.get('stream') ?? ''} onChange={text('stream')} size={12} data-testid="dlq-stream" /></label>
      <label>Run <input value={query.get('run_id') ?? ''} onChange={text('run_id')} size={16} data-testid="dlq-run" /></label>
      <label><input type="checkbox" checked={query.get('all') === 'true'} onChange={(e) => set('all', e.currentTarget.checked ? 'true' : '')} /> replayed too</label>
    </>
  );
}

export function Dlq({ query }: { query: URLSearchParams }) {
  const pipeline = query.get('pipeline') ?? '';
  const stream = query.get('stream') ?? '';
  const path = `/api/dlq${qs({ pipeline, stream, run_id: query.get('run_id'), all: query.get('all') === 'true' ? 'true' : undefined, limit: 1000 })}`;
  const rows = useApi<{ rows: DlqEntry[] }>(path, 10000);
  const list = useApi<PipelineList>('/api/pipelines');
  const [reason, setReason] = useState('');
  const [open, setOpen] = useState<Set<number>>(new Set());
  const [picked, setPicked] = useState<Set<number>>(new Set());
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const canAct = useCanAct();
  const canPurge = useCan('admin');
  const notices = useNotices();

  const shown = useMemo(() => {
    const needle = reason.trim().toLowerCase();
    return (rows.data?.rows ?? []).filter((r) => !needle || r.reason.toLowerCase().includes(needle));
  }, [rows.data, reason]);
  const chosen = shown.filter((r) => picked.has(r.id));
  const toggle = (s: Set<number>, id: number) => {
    const n = new Set(s);
    if (!n.delete(id)) n.add(id);
    return n;
  };

  const replay = async () => {
    setBusy(true);
    try {
      // The API replays one pipeline's rows at a time.
      const byPipeline = new Map<string, number[]>();
      for (const r of chosen) byPipeline.set(r.pipeline, [...(byPipeline.get(r.pipeline) ?? []), r.id]);
      const said: string[] = [];
      const jobs = chosen.length ? [...byPipeline] : [[pipeline, undefined] as const];
      for (const [p, ids] of jobs) {
        const r = await post<ReplayResult>('/api/dlq/replay', { pipeline: p, ...(ids ? { ids } : stream ? { stream } : {}) });
        said.push(`${p}: ${num(r.replayed)} replayed, ${num(r.still_failing)} still failing, ${num(r.not_replayable)} not replayable`);
      }
      notices.info(`Replay done. ${said.join('; ')}.`);
      setPicked(new Set());
      rows.reload();
    } catch {
      // reported by api.ts
    } finally {
      setBusy(false);
    }
  };

  const purge = async () => {
    setBusy(true);
    try {
      const r = await del<{ purged: number }>(`/api/dlq${qs({ pipeline, stream })}`);
      notices.info(`Purged ${num(r.purged)} dead-lettered rows of ${pipeline}${stream ? ` / ${stream}` : ''}.`);
      setConfirming(false);
      rows.reload();
    } catch {
      // reported by api.ts
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <section class="page-head">
        <div><h1>Dead letters</h1><p class="dim">Rows a run could not load, with the reason and the payload as read.</p></div>
      </section>
      <p class="toolbar">
        <Filters query={query} pipelines={(list.data?.pipelines ?? []).map((p) => p.name)} />
        <label>Reason <input type="search" value={reason} onInput={(e) => setReason(e.currentTarget.value)} size={14} data-testid="dlq-reason" /></label>
      </p>
      <p class="toolbar">
        <button type="button" class="primary" data-testid="dlq-replay" disabled={!canAct || busy || (!chosen.length && !pipeline)} onClick={replay}
          title={canAct ? 'Load the rows again through the pipeline as it is now' : needsText('operator')}>
          {chosen.length ? `Replay ${chosen.length} selected` : pipeline ? `Replay all of ${pipeline}${stream ? ` / ${stream}` : ''}` : 'Replay (select rows or a pipeline)'}
        </button>
        {!confirming ? (
          <button type="button" class="danger" data-testid="dlq-purge" disabled={!canPurge || busy || !pipeline} onClick={() => setConfirming(true)}
            title={!canPurge ? needsText('admin') : pipeline ? 'Delete these dead-lettered rows for good' : 'Choose a pipeline to purge'}>Purge…</button>
        ) : (
          <span class="confirm" role="alertdialog">
            Delete every dead-lettered row of <strong>{pipeline}</strong>{stream && <> / <strong>{stream}</strong></>}? This cannot be undone.
            {(query.get('run_id') || reason) && ' The run and reason filters do not narrow a purge.'}{' '}
            <button type="button" class="danger" data-testid="dlq-purge-confirm" disabled={busy} onClick={purge}>Purge</button>{' '}
            <button type="button" onClick={() => setConfirming(false)}>Cancel</button>
          </span>
        )}
        <span class="dim">{rows.data ? `${num(shown.length)} rows` : 'Loading…'}</span>
      </p>
      <div class="scroll">
        <table class="grid dlq">
          <thead>
            <tr>
              <th><input type="checkbox" aria-label="Select all shown" checked={shown.length > 0 && chosen.length === shown.length}
                onChange={(e) => setPicked(e.currentTarget.checked ? new Set(shown.map((r) => r.id)) : new Set())} /></th>
              <th class="num">#</th><th>Pipeline</th><th>Stream</th><th>Run</th><th>Stage</th><th>Reason</th><th>Position</th><th>At</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((r) => [
              <tr key={r.id} data-testid="dlq-row" data-id={r.id} class={`clickable${r.replayedAt ? ' replayed' : ''}`}
                onClick={(e) => { if (!(e.target as HTMLElement).closest('a,input,button')) setOpen((s) => toggle(s, r.id)); }}>
                <td><input type="checkbox" aria-label={`Select row ${r.id}`} checked={picked.has(r.id)} onChange={() => setPicked((s) => toggle(s, r.id))} /></td>
                <td class="num dim">
                  <button type="button" class="link" aria-expanded={open.has(r.id)} aria-label={`Payload of row ${r.id}`}
                    onClick={() => setOpen((s) => toggle(s, r.id))}>{open.has(r.id) ? '▾' : '▸'}</button>{r.id}
                </td>
                <td>{r.pipeline}</td>
                <td>{r.stream}</td>
                <td><a href={href(['runs', r.runId])} class="mono">{r.runId}</a></td>
                <td><Badge value={r.stage} /></td>
                <td class="reason">{r.reason}</td>
                <td class="small">{position(r.position)}</td>
                <td class="nowrap">{time(r.createdAt)}{r.replayedAt && <div class="ok-text small">replayed {time(r.replayedAt)}</div>}</td>
              </tr>,
              open.has(r.id) && (
                <tr key={`${r.id}-raw`} class="expanded">
                  <td colSpan={9}><pre class="json" data-testid="dlq-payload">{pretty(r.raw)}</pre></td>
                </tr>
              ),
            ])}
            {rows.data && shown.length === 0 && <tr><td colSpan={9} class="dim">No dead-lettered rows{pipeline || stream || reason ? ' match' : ''}.</td></tr>}
          </tbody>
        </table>
      </div>
    </>
  );
}

