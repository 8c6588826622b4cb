import { useEffect, useState } from 'preact/hooks';
import { get, qs } from '../api.js';
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
              <td class="nowrap">{e.runId ? <a href={href(['runs', e.runId])} class="mono">{e.runId}</a> : '—'}</td>
              <td><code class="detail">{JSON.stringify(e.detail)}</code></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const PAGE = 1000;
const KEEP = 200;
const MAX_PAGES = 20;

/**
 * The newest audit entries of a pipeline. The API lists them oldest first from a sequence number, so the first visit
 * pages forward to the end (at most MAX_PAGES pages), and later polls ask only for what came after.
 */
export function PipelineAudit({ pipeline }: { pipeline: string }) {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [cut, setCut] = useState(false);
  useEffect(() => {
    let alive = true;
    let timer: number | undefined;
    let after = 0;
    let kept: AuditEntry[] = [];
    const load = async (pages: number) => {
      try {
        for (let i = 0; i < pages; i++) {
          const r = await get<{ entries: AuditEntry[] }>(`/api/audit${qs({ pipeline, after, limit: PAGE })}`);
          if (!alive) return;
          if (r.entries.length) {
            after = r.entries[r.entries.length - 1].seq;
            kept = kept.concat(r.entries).slice(-KEEP);
          }
          if (r.entries.length < PAGE) break;
          if (i === pages - 1) setCut(true);
        }
        setEntries(kept.slice().reverse());
      } catch {
        // reported by api.ts
      }
      if (alive) timer = window.setTimeout(() => load(1), 10000);
    };
    void load(MAX_PAGES);
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [pipeline]);
  if (!entries) return <p class="dim">Loading…</p>;
  return (
    <>
      {cut && <p class="dim">The trail is long: these are entries up to #{entries[0]?.seq}, and newer ones load in the next refreshes.</p>}
      <AuditTable entries={entries} />
    </>
  );
}
