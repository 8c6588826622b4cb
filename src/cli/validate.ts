// `sluice validate <pipeline.yaml> [--json]`: check a pipeline file (keys, types, connector types, write
// dispositions against the destination's capabilities) without reading or writing any data.
import { relative } from 'node:path';
import type { Command } from 'commander';
import { loadPipelineFile, PipelineConfigError } from '../config/load.js';
import { ConfigError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { CliCommand } from './command.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { printError } from './print-error.js';

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Every error of a failed validation; paths shown relative to the working directory, as the user typed them. */
function configErrors(e: ConfigError): ConfigError[] {
  const all = e instanceof PipelineConfigError ? e.errors : [e];
  return all.map((err) => new ConfigError(err.message, {
    ...err.details,
    ...(err.details.file ? { file: relative(process.cwd(), err.details.file) || err.details.file } : {}),
  }));
}

export const validateCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('validate')
      .description('check a pipeline file without running it (all errors, with file:line:column)')
      .argument('<pipeline>', 'pipeline file (YAML)')
      .option('--json', 'print {valid, errors, …} as one JSON object on stdout')
      .action(async (file: string, o: { json?: boolean }) => {
        setExit(await validate(file, o));
      });
  },
};

async function validate(file: string, o: { json?: boolean }): Promise<number> {
  try {
    const { config } = await loadPipelineFile(file);
    const streams = config.sources.reduce((n, s) => n + s.streams.length, 0);
    if (o.json) {
      process.stdout.write(JSON.stringify({
        valid: true, errors: [], file, pipeline: config.pipeline, sources: config.sources.length, streams,
        destination: config.destination.type,
      }) + '\n');
    } else {
      process.stdout.write(`✓ ${file}: pipeline ${config.pipeline}, ${plural(config.sources.length, 'source')}, ${plural(streams, 'stream')} → ${config.destination.type}\n`);
    }
    return EXIT.success;
  } catch (e) {
    if (!(e instanceof ConfigError)) {
      printError(e);
      return exitCodeFor(e);
    }
    const errors = configErrors(e);
    if (o.json) {
      const list = errors.map((err) => ({ message: err.message, ...err.details }));
      process.stdout.write(redact(JSON.stringify({ valid: false, file, errors: list })) + '\n');
    } else {
      for (const err of errors) printError(err);
      if (errors.length > 1) process.stderr.write(`${plural(errors.length, 'error')} in ${file}\n`);
    }
    return EXIT.usage;
  }
}
