// The side of a sync for a system's configuration (written like a destination of its type).
import { resolve } from 'node:path';
import type { DestinationConfig } from '../config/types.js';
import { RunError } from '../core/errors.js';
import type { Side } from './side.js';
import { mysqlSide } from './sides/mysql-side.js';
import { postgresSide } from './sides/postgres-side.js';
import { sqliteSide } from './sides/sqlite-side.js';

export function openSide(config: DestinationConfig, baseDir: string): Side {
  const c = config as DestinationConfig & Record<string, unknown>;
  if (config.type === 'postgres') return postgresSide(c, baseDir);
  if (config.type === 'mysql') return mysqlSide(c, baseDir);
  if (config.type === 'sqlite') return sqliteSide(resolve(baseDir, String(c.path)));
  throw new RunError(`a sync cannot read a ${config.type} system`);
}
