// Loading a pipeline: a YAML file (`loadPipelineFile`), YAML text (`parsePipeline`) or a JS object from
// TypeScript (`definePipeline`). All three go through the same validation; every failure is a ConfigError
// naming the file, line, column and key path.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { resolveTree, type Env, type TreeResult } from './interpolate.js';
import { formatPath, positionOf, type KeyPath } from './locate.js';
import type { LoadedPipeline } from './types.js';
import { validatePipeline } from './validate-pipeline.js';
import type { ConfigIssue } from './zod-issues.js';

/**
 * Every problem found in one pipeline, in file order. It is itself the first error (message, details,
 * toString), so code that reports one error keeps working; `errors` has them all.
 */
export class PipelineConfigError extends ConfigError {
  constructor(readonly errors: ConfigError[]) {
    super(errors[0].message, errors[0].details);
  }
}

type Where = (path: KeyPath, atKey?: boolean) => { file?: string; line?: number; column?: number };

function toError(issues: ConfigIssue[], where: Where): ConfigError {
  const errors = issues.map((i) => new ConfigError(i.message, {
    ...where(i.path, i.atKey),
    path: formatPath(i.path) || undefined,
    expected: i.expected,
    suggestion: i.suggestion,
  }));
  // File order reads best; issues without a line (TypeScript API) keep the order they were found in.
  const key = (e: ConfigError) => [e.details.line ?? Number.MAX_SAFE_INTEGER, e.details.column ?? 0];
  errors.sort((a, b) => key(a)[0] - key(b)[0] || key(a)[1] - key(b)[1]);
  return errors.length === 1 ? errors[0] : new PipelineConfigError(errors);
}

function yamlError(doc: Document, file: string | undefined): ConfigError | undefined {
  const err = doc.errors[0];
  if (!err) return undefined;
  const pos = err.linePos?.[0];
  // yaml's message repeats the position and quotes the source; the first clause is the reason.
  const reason = err.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  return new ConfigError(`invalid YAML: ${reason}`, { file, line: pos?.line, column: pos?.col });
}

export interface ParseOptions {
  /** Shown in errors; absolute path of the file the text came from. */
  file?: string;
  /** Relative paths in the config resolve against it. */
  baseDir: string;
  env?: Env;
}

export function parsePipeline(text: string, opts: ParseOptions): LoadedPipeline {
  const config = parseConfigText(text, opts, 'the pipeline file is empty: expected `pipeline:` and `sources:`', (tree) => {
    const result = validatePipeline(tree.value, tree.interpolated);
    return result.ok ? { ok: true, value: result.config } : result;
  });
  return { config, ...(opts.file ? { file: opts.file } : {}), baseDir: opts.baseDir };
}

/**
 * YAML text → interpolated tree → `validate`, every problem a ConfigError at its file, line and column. Pipeline
 * files and the project file (`sluice.yaml`) share it.
 */
export function parseConfigText<T>(
  text: string, opts: Pick<ParseOptions, 'file' | 'env'>, emptyMessage: string,
  validate: (tree: TreeResult) => { ok: true; value: T } | { ok: false; issues: ConfigIssue[] },
): T {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, merge: true, prettyErrors: true, uniqueKeys: true });
  const syntax = yamlError(doc, opts.file);
  if (syntax) throw syntax;
  const where: Where = (path, atKey) => ({ file: opts.file, ...positionOf(doc, lineCounter, path, atKey) });
  const raw: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (raw === null || raw === undefined) throw new ConfigError(emptyMessage, { file: opts.file, line: 1, column: 1 });
  const tree = resolveTree(raw, { interpolate: true, env: opts.env ?? process.env, where });
  const result = validate(tree);
  if (!result.ok) throw toError(result.issues, where);
  return result.value;
}

export async function loadPipelineFile(file: string, env: Env = process.env): Promise<LoadedPipeline> {
  const { path, text } = await readConfigFile(file, 'pipeline', 'create one with `sluice init`');
  return parsePipeline(text, { file: path, baseDir: dirname(path), env });
}

/** A configuration file's absolute path and text; a missing or unreadable one is a ConfigError saying which. */
export async function readConfigFile(file: string, kind: string, whenMissing?: string): Promise<{ path: string; text: string }> {
  const path = resolve(file);
  try {
    // Configuration is small; reading it whole is fine (data files are streamed elsewhere).
    return { path, text: await readFile(path, 'utf8') };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? `${kind} file not found` : code === 'EISDIR' ? `expected a ${kind} file, got a directory` : `cannot read ${kind} file: ${(e as Error).message}`;
    throw new ConfigError(why, { file: path, expected: `a YAML ${kind} file`, suggestion: code === 'ENOENT' ? whenMissing : undefined });
  }
}

/**
 * The TypeScript API: the same model and validation as a YAML file, without `${VAR}` interpolation (use
 * process.env directly). Errors name the key path. Returns the validated, defaulted pipeline. Transform lists may
 * hold functions next to the declarative steps: `{ fn: (row) => row | null | row[] }` or `{ batch: (rows) => rows }`.
 */
export function definePipeline(input: unknown, opts: { baseDir?: string } = {}): LoadedPipeline {
  const tree = resolveTree(input, { interpolate: false, env: {} });
  const result = validatePipeline(tree.value);
  if (!result.ok) throw toError(result.issues, () => ({}));
  return { config: result.config, baseDir: resolve(opts.baseDir ?? process.cwd()) };
}
