import { qs } from '../api.js';
import { time } from '../format.js';
import { href, useApi } from '../hooks.js';
import type { AuditEntry } from '../types.js';

export function AuditTable({ entries }: { entries: AuditEntry[] }) {
  if (entries.length === 0) return <p class="dim">No audit entries.</p>;
  return (
    <div class="scroll">
      <table class="grid">
        <thead><tr><th class="num">#</th><th>At</th><th>Actor</th><th>Action</th><th>Run</th><th>Detail</th></tr></thead>
        <tbody>
          {entries.map((e) => (
            <tr key={e.seq}>
              <td class="num dim">{e.seq}</td>
              <td class="nowrap">{time(e.at)}</td>
              <td>{e.actor}</td>
              <td class="strong">{e.action}</td>
              <td class="nowrap">{e.runId ? <a href={href(['runs', e.runId])} class="mono">{e.runId}</a> : '—'}</td>
              <td><code class="detail">{JSON.stringify(e.detail)}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The newest audit entries of a pipeline, newest first, refreshed every 10 s. */
export function PipelineAudit({ pipeline }: { pipeline: string }) {
  const r = useApi<{ entries: AuditEntry[] }>(`/api/audit${qs({ pipeline, order: 'desc', limit: '200' })}`, 10_000);
  if (!r.data) return <p class="dim">Loading…</p>;
  return <AuditTable entries={r.data.entries} />;
}
