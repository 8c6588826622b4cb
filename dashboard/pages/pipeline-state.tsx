import { enc } from '../api.js';
import { num, pretty, time } from '../format.js';
import { useApi } from '../hooks.js';

type StateDoc = Record<string, unknown> | null;

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
const text = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

function KeyValues({ value }: { value: Record<string, unknown> }) {
  return <dl class="kv">{Object.entries(value).map(([k, v]) => [<dt key={`k${k}`}>{k}</dt>, <dd key={`v${k}`}>{text(v)}</dd>])}</dl>;
}

/** cursor, files and offsets as an operator reads them; whatever else a connector keeps, as JSON. */
function StreamState({ stream, doc }: { stream: string; doc: StateDoc }) {
  if (!doc) return <div class="card"><h3>{stream}</h3><p class="dim">No state yet: the next run starts from the beginning.</p></div>;
  const { cursor, files, offsets, ...rest } = doc;
  return (
    <div class="card" data-stream={stream}>
      <h3>{stream}</h3>
      {isObject(cursor) && <p>cursor <code>{text(cursor.column)}</code> = <code>{text(cursor.value)}</code></p>}
      {isObject(offsets) && <><h4>Offsets</h4><KeyValues value={offsets} /></>}
      {isObject(files) && (
        <>
          <h4>Files <span class="count">{Object.keys(files).length}</span></h4>
          <div class="scroll">
            <table class="grid">
              <thead><tr><th>File</th><th class="num">Size</th><th class="num">Records</th><th>Modified</th><th>Done</th></tr></thead>
              <tbody>
                {Object.entries(files).map(([f, v]) => {
                  const p = isObject(v) ? v : {};
                  return (
                    <tr key={f}>
                      <td class="mono">{f}</td>
                      <td class="num">{num(p.size as number)}</td>
                      <td class="num">{num(p.records as number)}</td>
                      <td class="nowrap">{typeof p.mtimeMs === 'number' ? time(new Date(p.mtimeMs).toISOString()) : '—'}</td>
                      <td>{p.done === true ? 'yes' : p.done === false ? 'partly' : '—'}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </>
      )}
      {Object.keys(rest).length > 0 && (
        <details>
          <summary>Other state ({Object.keys(rest).join(', ')})</summary>
          <pre class="json">{pretty(rest)}</pre>
        </details>
      )}
    </div>
  );
}

export function StateTab({ name }: { name: string }) {
  const state = useApi<{ streams: Record<string, StateDoc> }>(`/api/pipelines/${enc(name)}/state`, 10000);
  if (!state.data) return <p class="dim">Loading…</p>;
  const streams = Object.entries(state.data.streams ?? {});
  if (streams.length === 0) return <p class="dim">No streams.</p>;
  return <div class="stack">{streams.map(([s, doc]) => <StreamState key={s} stream={s} doc={doc} />)}</div>;
}
