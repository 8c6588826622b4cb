// How every command reports a failure on stderr: the error, where it is, and a hint when there is one.
import { PipelineConfigError } from '../config/load.js';
import { ConfigError } from '../core/errors.js';
import { redact } from '../core/redact.js';

export function printError(e: unknown): void {
  // A configuration file with several problems: every one, in file order.
  if (e instanceof PipelineConfigError) {
    for (const err of e.errors) printError(err);
    return;
  }
  const text = e instanceof ConfigError ? e.toString() : e instanceof Error ? e.message : String(e);
  const hint = e instanceof ConfigError && e.details.suggestion ? `\n  hint: ${e.details.suggestion}` : '';
  process.stderr.write(`error: ${redact(text)}${redact(hint)}\n`);
}
