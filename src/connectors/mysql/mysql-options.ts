// Connection keys of the MySQL/MariaDB source and destination, apart from the code that connects: the spec reads
// them without loading the driver.
import type { z } from 'zod';
import { connectionKeys } from '../sql/connection-keys.js';

export const mysqlConnectionKeys = connectionKeys({
  url: 'Connection URL, `mysql://user:password@host:3306/database`. Fields given beside it override its parts.',
  host: 'Server host (default `localhost`).',
  port: 'Server port (default 3306).',
  user: 'User name (default `root`).',
  database: 'Database (schema) holding the tables; required, by field or URL.',
  statementTimeout: 'Server-side limit per statement, in ms (0: none). MariaDB applies it to every statement (`max_statement_time`), MySQL to SELECTs only (`max_execution_time`).',
});

export type MysqlConnectionConfig = z.output<z.ZodObject<typeof mysqlConnectionKeys>>;
