// `sluice init [dir] [--force]`: scaffold a pipeline that runs as is — a CSV source with a primary key, a cursor
// and merge, loading into the embedded warehouse — so a first `sluice run` works before anything is edited.
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadPipelineFile } from '../config/load.js';
import { PIPELINE_NAME } from '../config/pipeline-spec.js';
import { DEFAULT_DESTINATION } from '../connectors/registry.js';
import type { CliCommand } from './command.js';
import { EXIT } from './exit-codes.js';
import { printError } from './print-error.js';

/** The directory's name as a kebab-case pipeline name, or `my-pipeline` when it has none to offer. */
export function pipelineNameFor(dir: string): string {
  const name = basename(resolve(dir)).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
  return PIPELINE_NAME.test(name) ? name : 'my-pipeline';
}

export const pipelineTemplate = (name: string): string => `# A Sluice pipeline: where data comes from and where it lands.
# Check it with \`sluice validate pipeline.yaml\`, run it with \`sluice run pipeline.yaml\`.
# Every key is described in docs/config-reference.md; values may use \${ENV_VAR} or \${ENV_VAR:-default}.
pipeline: ${name}               # kebab-case; runs, state and locks are keyed by it

sources:
  - name: files                 # unique within the pipeline
    type: csv                   # also: json, ndjson
    streams:
      - name: customers         # snake_case; also the destination table's name
        path: data/*.csv        # file or glob, relative to this file; an unchanged file is not read twice
        primary_key: [customer_id]   # what identifies a row; merge upserts on it
        cursor: updated_at      # its high-water mark is kept in state, so later runs load only newer rows
        write: merge            # append | replace (atomic swap) | merge (upsert on primary_key)
        columns:                # optional declared types; undeclared columns are inferred from the data
          customer_id: integer
          updated_at: timestamp

destination:
  type: ${DEFAULT_DESTINATION.padEnd(24)}# the embedded warehouse, also used when \`destination:\` is omitted
  # path: warehouse.duckdb      # default: $SLUICE_HOME/warehouse.duckdb ($SLUICE_HOME defaults to ./.sluice)
`;

export const SAMPLE_CSV = `customer_id,name,email,country,updated_at
1,Ada Lovelace,ada@example.com,GB,2024-01-05T09:00:00Z
2,Grace Hopper,grace@example.com,US,2024-01-06T14:30:00Z
3,Katherine Johnson,katherine@example.com,US,2024-01-07T08:15:00Z
4,Hedy Lamarr,hedy@example.com,AT,2024-01-08T17:45:00Z
5,Alan Turing,alan@example.com,GB,2024-01-09T11:20:00Z
`;

export const initCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('init')
      .description('create a working pipeline.yaml and sample data in a directory')
      .argument('[dir]', 'directory to create the pipeline in', '.')
      .option('--force', 'overwrite an existing pipeline.yaml (and the sample data)')
      .action(async (dir: string, o: { force?: boolean }) => {
        setExit(await init(dir, o));
      });
  },
};

async function init(dir: string, o: { force?: boolean }): Promise<number> {
  const root = resolve(dir);
  const pipelineFile = join(root, 'pipeline.yaml');
  const dataFile = join(root, 'data', 'customers.csv');
  const shown = (f: string) => relative(process.cwd(), f) || f;
  if (!o.force && existsSync(pipelineFile)) {
    process.stderr.write(`error: ${shown(pipelineFile)} already exists; use --force to overwrite it\n`);
    return EXIT.usage;
  }
  await mkdir(join(root, 'data'), { recursive: true });
  // 'wx' fails instead of overwriting, so a file created meanwhile is never clobbered without --force.
  const flag = o.force ? 'w' : 'wx';
  try {
    await writeFile(pipelineFile, pipelineTemplate(pipelineNameFor(root)), { flag });
    process.stdout.write(`created ${shown(pipelineFile)}\n`);
    if (o.force || !existsSync(dataFile)) {
      await writeFile(dataFile, SAMPLE_CSV, { flag });
      process.stdout.write(`created ${shown(dataFile)}\n`);
    }
    // The scaffold must be valid against the connectors actually registered; a failure here is a Sluice bug.
    const { config } = await loadPipelineFile(pipelineFile);
    process.stdout.write(`pipeline ${config.pipeline} is ready: sluice run ${shown(pipelineFile)}\n`);
    return EXIT.success;
  } catch (e) {
    printError(e);
    return (e as NodeJS.ErrnoException).code === 'EEXIST' ? EXIT.usage : EXIT.failed;
  }
}
