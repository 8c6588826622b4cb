import { useApi } from '../hooks.js';
import type { Alert } from '../types.js';
import { AlertList } from './overview.js';

export function Alerts() {
  const all = useApi<{ alerts: Alert[] }>('/api/alerts', 10000);
  const alerts = all.data?.alerts ?? [];
  const firing = alerts.filter((a) => a.status === 'firing');
  const resolved = alerts.filter((a) => a.status !== 'firing').sort((a, b) => (b.resolvedAt ?? '').localeCompare(a.resolvedAt ?? ''));
  return (
    <>
      <section>
        <h2>Firing <span class="count">{firing.length}</span></h2>
        {!all.data ? <p class="dim">Loading…</p> : firing.length ? <AlertList alerts={firing} /> : <p class="dim">Nothing is firing.</p>}
      </section>
      <section>
        <h2>Resolved <span class="count">{resolved.length}</span></h2>
        {resolved.length ? <AlertList alerts={resolved} /> : <p class="dim">No resolved alerts.</p>}
      </section>
    </>
  );
}
