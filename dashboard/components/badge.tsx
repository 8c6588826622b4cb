import type { Health } from '../types.js';

const tone: Record<string, string> = {
  healthy: 'ok', success: 'ok', resolved: 'ok', queued: 'info', running: 'info',
  warning: 'warn', partial_success: 'warn', skipped: 'muted', cancelled: 'muted',
  critical: 'bad', failed: 'bad', timed_out: 'bad', firing: 'bad', error: 'bad',
};

/** Colour and text together: the word carries the meaning for anyone who cannot tell the colours apart. */
export function Badge({ value, testid }: { value: string | null | undefined; testid?: string }) {
  const v = value ?? 'unknown';
  return <span class={`badge ${tone[v] ?? 'muted'}`} data-testid={testid} data-status={v}>{v.replace(/_/g, ' ')}</span>;
}

export function HealthBadge({ health }: { health: Health | undefined }) {
  if (!health) return <Badge value="unknown" />;
  const why = [...health.issues, ...health.recommendations.map((r) => `→ ${r}`)].join('\n');
  return (
    <span class="health" title={why || undefined}>
      <Badge value={health.status} testid="health" /> <span class="dim">{health.score}</span>
    </span>
  );
}
