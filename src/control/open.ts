// Opens the control store configured for this process: PostgreSQL when SLUICE_CONTROL_URL is a postgres:// URL (the
// shared store, for processes or machines that share work), else the SQLite file in $SLUICE_HOME.
import { resolve } from 'node:path';
import { atRestKeys } from '../core/at-rest.js';
import { ConfigError } from '../core/errors.js';
import type { ControlStore, StoreAddress } from './control-store.js';
import { PgControlStore } from './pg-store.js';
import { SqliteControlStore } from './sqlite-store.js';

export const sluiceHome = (env: NodeJS.ProcessEnv = process.env): string => resolve(env.SLUICE_HOME ?? '.sluice');

const EXPECTED = 'postgres://user@host:5432/database[?schema=name] (or postgresql://), or unset for SQLite in $SLUICE_HOME';

export function openControlStore(home: string = sluiceHome(), env: NodeJS.ProcessEnv = process.env): ControlStore {
  atRestKeys(); // a bad encryption key is a configuration error before the store is touched
  const url = env.SLUICE_CONTROL_URL?.trim();
  if (!url) return new SqliteControlStore(home);
  // Only the scheme is ever shown: the rest of the value may hold a password.
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return new PgControlStore(url);
  throw new ConfigError(
    `SLUICE_CONTROL_URL: ${scheme ? `unsupported scheme "${scheme}:"` : 'not a URL'}; expected ${EXPECTED}`,
    { expected: EXPECTED },
  );
}

/** The store at `address` (another thread's, opened again here). */
export const openControlStoreAt = (address: StoreAddress): ControlStore =>
  (address.kind === 'sqlite' ? new SqliteControlStore(address.home) : new PgControlStore(address.url));
