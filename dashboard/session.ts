// Who is logged in, and the page-wide notices, for any component below the app without threading props.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { ROLES, type Role, type Session } from './types.js';

export const SessionContext = createContext<Session | null>(null);

/** An action the token's role cannot do is shown disabled, with why: the server would answer 403 anyway. */
export const useCan = (needed: Role): boolean => {
  const role = useContext(SessionContext)?.role;
  return !!role && ROLES.indexOf(role) >= ROLES.indexOf(needed);
};

/** What runs pipelines (run, rerun, pause, backfill, replay) needs an operator token. */
export const useCanAct = (): boolean => useCan('operator');

export const needsText = (needed: Role): string => `Your token cannot do this: it needs the ${needed} role`;

export interface Notices { info(message: string): void }
export const NoticeContext = createContext<Notices>({ info() {} });
export const useNotices = (): Notices => useContext(NoticeContext);
