// Who is logged in, and the page-wide notices, for any component below the app without threading props.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Session } from './types.js';

export const SessionContext = createContext<Session | null>(null);

/** A `read` token sees the actions disabled: the server would answer 403 anyway. */
export const useCanAct = (): boolean => useContext(SessionContext)?.role === 'act';

export interface Notices { info(message: string): void }
export const NoticeContext = createContext<Notices>({ info() {} });
export const useNotices = (): Notices => useContext(NoticeContext);
