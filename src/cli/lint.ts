// `sluice lint <pipeline files or directories…> [--json] [--deny-warnings]`: the conventions and risky settings of
// pipeline files (src/config/lint.ts has the rules), plus everything `validate` rejects, without reading any data.
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { declaresPipeline, lintPipelineText, type LintFinding } from '../config/lint.js';
import { ConfigError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import type { CliCommand } from './command.js';
import { EXIT } from './exit-codes.js';
import { printError } from './print-error.js';

interface LintOptions {
  json?: boolean;
  denyWarnings?: boolean;
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Paths shown relative to the working directory, as the user typed them. */
const shown = (abs: string): string => relative(process.cwd(), abs) || abs;

const PIPELINE_FILE = /\.ya?ml$/i;

/**
 * The files to lint: files as given, and the `*.yaml`/`*.yml` pipeline files of directories (not their
 * sub-directories; files without a top-level `pipeline:` key, such as a `sluice.yaml` project file, are skipped).
 */
async function pipelineFiles(args: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const arg of args) {
    const abs = resolve(arg);
    let isDir: boolean;
    try {
      isDir = (await stat(abs)).isDirectory();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new ConfigError(code === 'ENOENT' ? 'no such file or directory' : `cannot read: ${(e as Error).message}`, { file: shown(abs) });
    }
    if (!isDir) {
      files.push(abs);
      continue;
    }
    const names = (await readdir(abs, { withFileTypes: true }))
      .filter((d) => d.isFile() && PIPELINE_FILE.test(d.name)).map((d) => d.name).sort();
    const found: string[] = [];
    for (const name of names) {
      const file = join(abs, name);
      if (declaresPipeline(await readFile(file, 'utf8'))) found.push(file);
    }
    if (found.length === 0) throw new ConfigError('no pipeline files (*.yaml, *.yml with a top-level `pipeline:` key) in this directory', { file: shown(abs) });
    files.push(...found);
  }
  return [...new Set(files)];
}

async function lintFile(abs: string): Promise<LintFinding[]> {
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read: ${(e as Error).message}`, { file: shown(abs) });
  }
  return lintPipelineText(text, { file: shown(abs), baseDir: dirname(abs) });
}

const where = (f: LintFinding): string => [f.file, f.line, f.column].filter((x) => x !== undefined).join(':');

export const lintCommand: CliCommand = {
  register(program: Command, setExit) {
    program
      .command('lint')
      .description('report naming conventions and risky settings of pipeline files (and what validate rejects)')
      .argument('<paths...>', 'pipeline files, or directories of them')
      .option('--json', 'print {files, findings, errors, warnings} as one JSON object on stdout')
      .option('--deny-warnings', 'exit 1 on warnings too')
      .action(async (paths: string[], o: LintOptions) => {
        setExit(await lint(paths, o));
      });
  },
};

async function lint(paths: string[], o: LintOptions): Promise<number> {
  let files: string[];
  const findings: LintFinding[] = [];
  try {
    files = await pipelineFiles(paths);
    for (const file of files) findings.push(...await lintFile(file));
  } catch (e) {
    printError(e);
    return EXIT.usage;
  }
  // Messages never carry a secret's value; validation's are redacted as `validate` does it.
  const safe = findings.map((f) => ({ ...f, message: redact(f.message) }));
  const errors = safe.filter((f) => f.severity === 'error').length;
  const warnings = safe.length - errors;
  if (o.json) {
    process.stdout.write(JSON.stringify({ files: files.map(shown), findings: safe, errors, warnings }) + '\n');
  } else {
    for (const f of safe) process.stdout.write(`${where(f)}  ${f.severity}  ${f.rule}  ${f.message}\n`);
    const counts = safe.length === 0 ? 'no findings' : `${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
    process.stdout.write(`${plural(files.length, 'file')} linted: ${counts}\n`);
  }
  return errors > 0 || (o.denyWarnings && warnings > 0) ? EXIT.failed : EXIT.success;
}
