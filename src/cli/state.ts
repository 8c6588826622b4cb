// `sluice state show|reset <pipeline.yaml> [--stream NAME…]`: the incremental state kept in the destination.
import type { Command } from 'commander';
import { hostname } from 'node:os';
import { loadPipelineFile } from '../config/load.js';
import { getDestinationSpec } from '../connectors/registry.js';
import { silentLogger } from '../core/logger.js';
import { openControlStore, sluiceHome } from '../control/open.js';
import type { Destination, RunContext } from '../core/connector.js';
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
        await withDestination(file, setExit, async (loaded, dest) => {
          const out: Record<string, unknown> = {};
          for (const name of streamNames(loaded, o.stream)) out[name] = (await dest.readState(loaded.config.pipeline, name)) ?? null;
          process.stdout.write(o.json ? JSON.stringify(out) + '\n' : JSON.stringify(out, null, 2) + '\n');
        });
      });
    state
      .command('reset')
      .argument('<pipeline>', 'pipeline file')
      .option('--stream <names...>', 'only these streams (default: all)')
      .action(async (file: string, o: { stream?: string[] }) => {
        await withDestination(file, setExit, async (loaded, dest) => {
          // Never reset under a running pipeline: take its lock for the duration.
          const store = openControlStore();
          const runId = newRunId();
          try {
            await store.acquireLock(loaded.config.pipeline, { runId, pid: process.pid, host: hostname() });
            try {
              for (const name of streamNames(loaded, o.stream)) await dest.resetState(loaded.config.pipeline, name);
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

function streamNames(loaded: LoadedPipeline, only?: string[]): string[] {
  const all = loaded.config.sources.flatMap((s) => s.streams.map((st) => st.name));
  return only?.length ? all.filter((n) => only.includes(n)) : all;
}

async function withDestination(
  file: string, setExit: (n: number) => void, work: (loaded: LoadedPipeline, dest: Destination) => Promise<void>,
): Promise<void> {
  let dest: Destination | undefined;
  try {
    const loaded = await loadPipelineFile(file);
    dest = await getDestinationSpec(loaded.config.destination.type)!.create(loaded.config.destination);
    const ctx: RunContext = {
      pipeline: loaded.config.pipeline, runId: 'state', logger: silentLogger(), signal: new AbortController().signal,
      baseDir: loaded.baseDir, home: sluiceHome(), batchSize: loaded.config.batch_size,
    };
    await dest.connect(ctx);
    await work(loaded, dest);
  } catch (e) {
    printError(e);
    setExit(exitCodeFor(e));
  } finally {
    await dest?.close().catch(() => undefined);
  }
}
