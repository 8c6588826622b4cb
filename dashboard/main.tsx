// The dashboard's shell: session, top bar, banner and the hash router. Pages fetch their own data.
import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, loadSession, logout, onApiEvents } from './api.js';
import { Login } from './components/login.js';
import { useRoute } from './hooks.js';
import { Alerts } from './pages/alerts.js';
import { Dlq } from './pages/dlq.js';
import { Overview } from './pages/overview.js';
import { PipelinePage } from './pages/pipeline.js';
import { RunPage } from './pages/run.js';
import { NoticeContext, SessionContext } from './session.js';
import type { Session } from './types.js';

type Auth = { state: 'checking' } | { state: 'out' } | { state: 'in'; session: Session };

function App() {
  const [auth, setAuth] = useState<Auth>({ state: 'checking' });
  const [banner, setBanner] = useState<{ kind: 'error' | 'info'; text: string } | null>(null);
  const route = useRoute();

  useEffect(() => {
    onApiEvents({
      unauthorized: () => setAuth({ state: 'out' }),
      error: (text) => setBanner({ kind: 'error', text }),
    });
    loadSession().then((session) => setAuth({ state: 'in', session }), (e) => {
      if (!(e instanceof ApiError && e.status === 401)) setBanner({ kind: 'error', text: `Could not read the session: ${(e as Error).message}` });
      setAuth({ state: 'out' });
    });
  }, []);

  // A banner belongs to the page it was raised on.
  const where = route.parts.join('/');
  useEffect(() => setBanner(null), [where]);

  // The tab's title names the page, for a window full of tabs and for the history list.
  useEffect(() => {
    const [kind, id] = route.parts;
    const what = id ?? ({ dlq: 'Dead letters', alerts: 'Alerts' } as Record<string, string>)[kind ?? ''] ?? 'Pipelines';
    document.title = `${what} · Sluice`;
  }, [where]);

  const notices = useMemo(() => ({ info: (text: string) => setBanner({ kind: 'info', text }) }), []);

  const bannerView = banner && (
    <div class={`banner ${banner.kind}`} role={banner.kind === 'error' ? 'alert' : 'status'} data-testid={banner.kind === 'error' ? 'error-banner' : 'info-banner'}>
      <span>{banner.text}</span>
      <button type="button" class="link" aria-label="Dismiss" onClick={() => setBanner(null)}>×</button>
    </div>
  );

  if (auth.state === 'checking') return <p class="dim center">Loading…</p>;
  if (auth.state === 'out') {
    return <>{bannerView}<Login onLogin={(session) => { setBanner(null); setAuth({ state: 'in', session }); }} /></>;
  }

  const [top, ...rest] = route.parts;
  const nav = (to: string, label: string, active: boolean) => <a href={to} class={active ? 'active' : undefined}>{label}</a>;
  let page;
  if (top === 'pipelines' && rest[0]) page = <PipelinePage key={rest[0]} name={rest[0]} tab={rest[1] ?? 'runs'} />;
  else if (top === 'runs' && rest[0]) page = <RunPage key={rest[0]} id={rest[0]} />;
  else if (top === 'dlq') page = <Dlq query={route.query} />;
  else if (top === 'alerts') page = <Alerts />;
  else page = <Overview />;

  return (
    <SessionContext.Provider value={auth.session}>
      <NoticeContext.Provider value={notices}>
        <header class="topbar">
          <a href="#/" class="brand">Sluice</a>
          <nav>
            {nav('#/', 'Pipelines', !top || top === 'pipelines' || top === 'runs')}
            {nav('#/dlq', 'Dead letters', top === 'dlq')}
            {nav('#/alerts', 'Alerts', top === 'alerts')}
          </nav>
          <span class="who" title={auth.session.actor}>
            {auth.session.actor.replace(/^token:/, '')}{auth.session.role !== 'admin' && <span class="dim" data-testid="role"> ({auth.session.role})</span>}
          </span>
          <button type="button" class="link" onClick={() => logout().then(() => setAuth({ state: 'out' }), () => {})}>Log out</button>
        </header>
        {bannerView}
        <main>{page}</main>
      </NoticeContext.Provider>
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById('app') as HTMLElement);
