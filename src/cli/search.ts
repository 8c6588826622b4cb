// `sluice search <pipeline.yaml> <table> "<query>" [--limit N] [--json]`: full-text search over a table the pipeline's
// PostgreSQL destination made searchable (its `search:` option). Configuration problems are found before connecting.
import type { Command } from 'commander';
import { loadPipelineFile } from '../config/load.js';
import type { PostgresDestination } from '../connectors/postgres/postgres-destination.js';
import type { PostgresDestinationConfig } from '../connectors/postgres/postgres-spec.js';
import { ConfigError } from '../core/errors.js';
import { withDestination } from '../engine/pipeline-state.js';
import { act } from './command.js';
import type { CliCommand } from './command.js';
import { EXIT } from './exit-codes.js';
import { textTable } from './text-table.js';

interface SearchOptions {
  limit: string;
  json?: boolean;
}

export const searchCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('search')
      .description('full-text search over a table the PostgreSQL destination made searchable (`search:`)')
      .argument('<pipeline>', 'pipeline file')
      .argument('<table>', 'destination table, as named under `search:`')
      .argument('<query>', 'words, "a phrase", or, -word (web search syntax)')
      .option('--limit <n>', 'at most this many rows', '20')
      .option('--json', 'print {table, query, rows} as one JSON object')
      .action((file: string, table: string, query: string, o: SearchOptions) => act(setExit, () => search(file, table, query, o)));
  },
};

async function search(file: string, table: string, query: string, o: SearchOptions): Promise<number> {
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new ConfigError(`--limit must be a positive integer, got ${JSON.stringify(o.limit)}`);
  const loaded = await loadPipelineFile(file);
  const destination = loaded.config.destination;
  if (destination.type !== 'postgres') {
    throw new ConfigError(`sluice search needs a postgres destination; pipeline ${loaded.config.pipeline} writes to ${destination.type}`);
  }
  const searchable = Object.keys((destination as unknown as PostgresDestinationConfig).search ?? {});
  if (!searchable.includes(table)) {
    throw new ConfigError(`table ${table} has no \`search:\` entry in the destination of pipeline ${loaded.config.pipeline}`, {
      suggestion: searchable.length ? `searchable tables: ${searchable.join(', ')}` : `add \`search: { ${table}: { columns: [...] } }\` to the destination and run the pipeline`,
    });
  }
  const hits = await withDestination(loaded, (dest) => (dest as PostgresDestination).search(table, query, limit));
  process.stdout.write(o.json ? JSON.stringify({ table, query, rows: hits.rows }) + '\n' : textTable(hits.columns, hits.rows, 'no rows match'));
  return EXIT.success;
}
