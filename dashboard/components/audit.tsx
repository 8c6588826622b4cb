import { time } from '../format.js';
import { href } from '../hooks.js';
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
              <td>{e.runId ? <a href={href(['runs', e.runId])} class="mono">{e.runId}</a> : '—'}</td>
              <td><code class="detail">{JSON.stringify(e.detail)}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
