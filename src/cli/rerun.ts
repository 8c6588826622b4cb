// `sluice rerun <run-id> [--json]`: the failed streams of a failed run again, from their committed state.
import type { Command } from 'commander';
import { openControlStore } from '../control/open.js';
import { planRerun } from '../engine/rerun.js';
import { osUser } from '../engine/runner.js';
import type { CliCommand } from './command.js';
import { exitCodeFor } from './exit-codes.js';
import { printError } from './print-error.js';
import { runFile } from './run.js';

export const rerunCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('rerun')
      .description('run the failed streams of a failed run again, from their committed state')
      .argument('<run-id>', 'a failed run (`sluice runs`)')
      .option('--json', 'print one JSON object with the run summary on stdout')
      .option('--log-level <level>', 'trace, debug, info, warn, error, silent')
      .action(async (runId: string, o: { json?: boolean; logLevel?: string }) => {
        const store = openControlStore();
        let plan;
        try {
          plan = await planRerun(store, runId);
          await store.appendAudit({ actor: osUser(), action: 'run.rerun', pipeline: plan.pipeline, runId, detail: { streams: plan.streams ?? null } });
        } catch (e) {
          printError(e);
          setExit(exitCodeFor(e));
          return;
        } finally {
          await store.close();
        }
        setExit(await runFile(plan.file, { ...o, ...(plan.streams ? { stream: plan.streams } : {}) }, 'rerun'));
      });
  },
};
