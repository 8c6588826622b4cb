import { useEffect, useState } from 'preact/hooks';
import { enc, qs } from '../api.js';
import { useApi } from '../hooks.js';
import type { Preview } from '../types.js';

/** A cell as text: null is marked so it is not mistaken for the string "null" or an empty string. */
export function Cell({ value }: { value: unknown }) {
  if (value === null || value === undefined) return <span class="null">null</span>;
  return <>{typeof value === 'object' ? JSON.stringify(value) : String(value)}</>;
}

export function DataTab({ name }: { name: string }) {
  const tables = useApi<{ tables: { stream: string; table: string }[] }>(`/api/pipelines/${enc(name)}/tables`, 0, [404]);
  const [stream, setStream] = useState('');
  const list = tables.data?.tables ?? [];
  useEffect(() => {
    if (!stream && list.length) setStream(list[0].stream);
  }, [list, stream]);
  const preview = useApi<Preview>(stream ? `/api/pipelines/${enc(name)}/preview${qs({ stream, limit: 50 })}` : null, 0, [404]);

  if (tables.error?.status === 404) return <p class="dim">This server cannot show table previews yet.</p>;
  if (!tables.data) return <p class="dim">Loading…</p>;
  if (list.length === 0) return <p class="dim">No tables to preview.</p>;
  const p = preview.data;
  return (
    <>
      <p class="toolbar">
        <label>Stream{' '}
          <select value={stream} onChange={(e) => setStream(e.currentTarget.value)} data-testid="preview-stream">
            {list.map((t) => <option key={t.stream} value={t.stream}>{t.stream} → {t.table}</option>)}
          </select>
        </label>
        <button type="button" onClick={preview.reload}>Refresh</button>
        {p && <span class="dim">{p.table}: first {p.rows.length} rows</span>}
      </p>
      {p && (
        <div class="scroll">
          <table class="grid data" data-testid="preview-table">
            <thead><tr>{p.columns.map((c, i) => <th key={i}>{c}</th>)}</tr></thead>
            <tbody>
              {p.rows.map((row, i) => <tr key={i}>{row.map((v, j) => <td key={j}><Cell value={v} /></td>)}</tr>)}
              {p.rows.length === 0 && <tr><td colSpan={p.columns.length || 1} class="dim">The table is empty.</td></tr>}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
