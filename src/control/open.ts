// Opens the control store configured for this process. SQLite in $SLUICE_HOME is the default; a PostgreSQL store
// (SLUICE_CONTROL_URL) will plug in here for shared deployments.
import { resolve } from 'node:path';
import type { ControlStore } from './control-store.js';
import { SqliteControlStore } from './sqlite-store.js';

export const sluiceHome = (env: NodeJS.ProcessEnv = process.env): string => resolve(env.SLUICE_HOME ?? '.sluice');

export function openControlStore(home: string = sluiceHome()): ControlStore {
  return new SqliteControlStore(home);
}
