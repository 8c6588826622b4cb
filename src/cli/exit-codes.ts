// The one place errors become exit codes (DESIGN.md CLI contract).
import { ConfigError } from '../core/errors.js';

export const EXIT = { success: 0, failed: 1, usage: 2, partial: 3 } as const;

export function exitCodeFor(error: unknown): number {
  return error instanceof ConfigError ? EXIT.usage : EXIT.failed;
}
