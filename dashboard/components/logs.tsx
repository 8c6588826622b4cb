import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, enc, get } from '../api.js';
import type { LogLine } from '../types.js';

const LEVELS = ['debug', 'info', 'warn', 'error'];
const SHOWN = 2000;

const clock = (iso: string) => {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toTimeString().slice(0, 8) + '.' + String(d.getMilliseconds()).padStart(3, '0');
};

/** A run's log, fetched by sequence number: only the new lines each second while the run is live, then all of the rest. */
export function Logs({ runId, live }: { runId: string; live: boolean }) {
  const [lines, setLines] = useState<LogLine[]>([]);
  const [missing, setMissing] = useState(false);
  const [level, setLevel] = useState('info');
  const [stream, setStream] = useState('');
  const [text, setText] = useState('');
  const after = useRef(0);
  const box = useRef<HTMLDivElement>(null);
  const pinned = useRef(true);

  useEffect(() => {
    setLines([]);
    setMissing(false);
    after.current = 0;
  }, [runId]);

  useEffect(() => {
    let alive = true;
    let timer: number | undefined;
    const load = async () => {
      let got = 0;
      try {
        const r = await get<{ lines: LogLine[] }>(`/api/runs/${enc(runId)}/logs?after=${after.current}`, [404]);
        if (!alive) return;
        got = r.lines.length;
        if (got) {
          after.current = r.lines[got - 1].seq;
          setLines((ls) => ls.concat(r.lines));
        }
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) {
          if (alive) setMissing(true);
          return;
        }
      }
      // A full page may have more behind it: ask again at once; an empty one means caught up.
      if (alive && (got > 0 || live)) timer = window.setTimeout(load, got > 0 ? 0 : 1000);
    };
    void load();
    return () => {
      alive = false;
      clearTimeout(timer);
    };
  }, [runId, live]);

  const streams = useMemo(() => [...new Set(lines.map((l) => l.stream).filter((s): s is string => !!s))].sort(), [lines]);
  const shown = useMemo(() => {
    const min = LEVELS.indexOf(level);
    const needle = text.trim().toLowerCase();
    return lines.filter((l) => LEVELS.indexOf(l.level) >= min && (!stream || l.stream === stream)
      && (!needle || `${l.msg} ${JSON.stringify(l.fields ?? {})}`.toLowerCase().includes(needle)));
  }, [lines, level, stream, text]);

  // Follow the tail unless the reader has scrolled up to read something.
  useLayoutEffect(() => {
    const el = box.current;
    if (el && pinned.current) el.scrollTop = el.scrollHeight;
  }, [shown.length]);

  if (missing) return <p class="dim">This server does not keep run logs yet.</p>;
  return (
    <div class="logs">
      <p class="toolbar">
        <label>Level <select value={level} onChange={(e) => setLevel(e.currentTarget.value)} data-testid="log-level">
          {LEVELS.map((l) => <option key={l} value={l}>{l}{l === 'error' ? '' : ' and up'}</option>)}
        </select></label>
        <label>Stream <select value={stream} onChange={(e) => setStream(e.currentTarget.value)} data-testid="log-stream">
          <option value="">all</option>
          {streams.map((s) => <option key={s} value={s}>{s}</option>)}
        </select></label>
        <input type="search" placeholder="Filter text" value={text} onInput={(e) => setText(e.currentTarget.value)} data-testid="log-filter" />
        <span class="dim">{shown.length} of {lines.length} lines</span>
      </p>
      <div class="log-box" ref={box} onScroll={(e) => {
        const el = e.currentTarget;
        pinned.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
      }}>
        {shown.length > SHOWN && <div class="dim">{shown.length - SHOWN} earlier lines not shown: narrow the filter.</div>}
        {shown.slice(-SHOWN).map((l) => (
          <div key={l.seq} class={`log-line ${l.level}`} data-testid="log-line" data-level={l.level}>
            <span class="dim">{clock(l.at)}</span> <span class="lvl">{l.level}</span>
            {l.stream && <span class="stream"> [{l.stream}]</span>} <span>{l.msg}</span>
            {l.fields && Object.keys(l.fields).length > 0 && <span class="dim"> {JSON.stringify(l.fields)}</span>}
          </div>
        ))}
        {lines.length === 0 && <div class="dim">{live ? 'Waiting for log lines…' : 'No log lines.'}</div>}
      </div>
    </div>
  );
}
