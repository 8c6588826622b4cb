// `sluice state show|reset <pipeline.yaml> [--stream NAME…]`: the incremental state kept in the destination.
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { loadPipelineFile } from '../config/load.js';
import { openControlStore } from '../control/open.js';
import type { Destination } from '../core/connector.js';
import { streamNames, streamStates, withDestination } from '../engine/pipeline-state.js';
import { osUser } from '../engine/runner.js';
import type { LoadedPipeline } from '../config/types.js';
import { newRunId } from '../engine/run-id.js';
import type { CliCommand } from './command.js';
import { exitCodeFor } from './exit-codes.js';
import { printError } from './print-error.js';

export const stateCommand: CliCommand = {
  register(program: Command, setExit) {
    const state = program.command('state').description('show or reset incremental state');
    state
      .command('show')
      .argument('<pipeline>', 'pipeline file')
      .option('--stream <names...>', 'only these streams')
      .option('--json', 'print JSON')
      .action(async (file: string, o: { stream?: string[]; json?: boolean }) => {
        await withLoaded(file, setExit, async (loaded, dest) => {
          const out = await streamStates(loaded, dest, o.stream);
          process.stdout.write(o.json ? JSON.stringify(out) + '\n' : JSON.stringify(out, null, 2) + '\n');
        });
      });
    state
      .command('reset')
      .argument('<pipeline>', 'pipeline file')
      .option('--stream <names...>', 'only these streams (default: all)')
      .action(async (file: string, o: { stream?: string[] }) => {
        await withLoaded(file, setExit, async (loaded, dest) => {
          // Never reset under a running pipeline: take its lock for the duration.
          const store = openControlStore();
          const runId = newRunId();
          try {
            await store.acquireLock(loaded.config.pipeline, { runId, pid: process.pid, host: hostname() });
            try {
              for (const name of streamNames(loaded, o.stream)) await dest.resetState(loaded.config.pipeline, name);
              await store.appendAudit({ actor: osUser(), action: 'state.reset', pipeline: loaded.config.pipeline, detail: { streams: streamNames(loaded, o.stream) } });
            } finally {
              await store.releaseLock(loaded.config.pipeline, runId);
            }
          } finally {
            await store.close();
          }
          process.stdout.write(`state reset for ${streamNames(loaded, o.stream).join(', ')}\n`);
        });
      });
  },
};

async function withLoaded(
  file: string, setExit: (n: number) => void, work: (loaded: LoadedPipeline, dest: Destination) => Promise<void>,
): Promise<void> {
  try {
    const loaded = await loadPipelineFile(file);
    await withDestination(loaded, (dest) => work(loaded, dest));
  } catch (e) {
    printError(e);
    setExit(exitCodeFor(e));
  }
}
