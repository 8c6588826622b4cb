// A whole-number command-line option, checked before any work: the flag, the least value it takes, what was given.
import { ConfigError } from '../core/errors.js';

export function intOption(name: string, raw: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}: expected an integer ≥ ${min}${max < Number.MAX_SAFE_INTEGER ? ` and ≤ ${max}` : ''}, got "${raw}"`);
  }
  return n;
}
