// The `sluice` command line. Every command lives in its own file; this one only wires them and maps errors to
// exit codes (0 success, 1 run failed, 2 usage/config, 3 partial success).
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import type { CliCommand } from './command.js';
import { atRestKeys } from '../core/at-rest.js';
import { auditCommand } from './audit.js';
import { backfillCommand } from './backfill.js';
import { dlqCommand } from './dlq.js';
import { eraseCommand } from './erase.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { gcCommand } from './gc.js';
import { initCommand } from './init.js';
import { lintCommand } from './lint.js';
import { diffCommand } from './diff.js';
import { syncCommand } from './sync.js';
import { conflictsCommand } from './conflicts.js';
import { changesCommand } from './changes.js';
import { printError } from './print-error.js';
import { qualityCommand } from './quality.js';
import { runCommand } from './run.js';
import { rerunCommand } from './rerun.js';
import { runsCommand } from './runs.js';
import { searchCommand } from './search.js';
import { lakeCommand } from './lake.js';
import { serveCommand } from './serve.js';
import { stateCommand } from './state.js';
import { validateCommand } from './validate.js';
import { workerCommand } from './worker.js';

const COMMANDS: CliCommand[] = [
  runCommand, validateCommand, lintCommand, initCommand, runsCommand, dlqCommand, stateCommand, qualityCommand, rerunCommand, backfillCommand, serveCommand, auditCommand, diffCommand, syncCommand, conflictsCommand, changesCommand,
  gcCommand, searchCommand, workerCommand, lakeCommand, eraseCommand,
];

// dist/src/cli/ and dist/bundle/cli/ (scripts/bundle.js) both sit three levels below the package root.
const version = (): string =>
  (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export async function main(argv: string[]): Promise<number> {
  let code: number = EXIT.success;
  const program = new Command('sluice')
    .description('ETL, ELT and data synchronisation: one pipeline file, exactly-once loads, a record of every run.')
    .version(version())
    .exitOverride()
    .enablePositionalOptions()
    .showHelpAfterError();
  for (const c of COMMANDS) c.register(program, (n) => { code = n; });
  // A bad encryption key fails every command before any work (exit 2), naming the variable, never the value.
  program.hook('preAction', () => {
    atRestKeys();
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.success : EXIT.usage;
    printError(e);
    return exitCodeFor(e);
  }
}
