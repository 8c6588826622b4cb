import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { needsText, useCan, useNotices } from '../session.js';
import type { Role } from '../types.js';

/**
 * A button that changes something on the server: disabled for a token whose role is below `needs` (default operator)
 * and while its request is out, and
 * its outcome said in the info banner (a failure is already in the error banner, from api.ts).
 */
export function ActionButton({ run, children, testid, primary, danger, title, needs = 'operator' }: {
  run(): Promise<string | void>; children: ComponentChildren; testid?: string; primary?: boolean; danger?: boolean; title?: string; needs?: Role;
}) {
  const canAct = useCan(needs);
  const notices = useNotices();
  const [busy, setBusy] = useState(false);
  const click = async () => {
    setBusy(true);
    try {
      const said = await run();
      if (said) notices.info(said);
    } catch {
      // reported by api.ts
    } finally {
      setBusy(false);
    }
  };
  return (
    <button type="button" class={primary ? 'primary' : danger ? 'danger' : undefined} data-testid={testid}
      disabled={!canAct || busy} title={canAct ? title : needsText(needs)} onClick={click}>
      {children}
    </button>
  );
}
