// Numbers as people write them: `1,234.50`, `1.234,50` (decimal comma), `1 234,5` (spaces, NBSP, thin spaces),
// `$1,200`, `-€3.50`. The result is plain numeric text (`1234.50`) that the engine's coercers then read exactly.
import { plainNumber } from '../../expr/values.js';

const SPACES = /[\s\u00a0\u202f\u2009]/g;
const CURRENCY = /\p{Sc}/gu;
const PLAIN = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

export interface NumberParseOptions {
  /** Thousands separator to remove, e.g. "," or "." or "'"; spaces are always removed. */
  thousands?: string;
  /** Decimal separator; default ".". */
  decimal?: string;
  /** Remove currency symbols ($, €, £, …). */
  currency?: boolean;
}

/** Numeric text of a value, or undefined when it is not a number in this notation. */
export function numberParser(o: NumberParseOptions): (v: unknown) => string | undefined {
  const { thousands, decimal = '.', currency = false } = o;
  return (v) => {
    if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
    if (typeof v === 'bigint') return v.toString();
    if (typeof v !== 'string') return undefined;
    // Most values are written plainly (`1234.5`): no separators to remove, nothing to rewrite.
    if (decimal === '.' && (!thousands || !v.includes(thousands)) && plainNumber(v) !== undefined) return v;
    let s = v.replace(SPACES, '');
    if (currency) s = s.replace(CURRENCY, '');
    if (thousands) {
      // A thousands separator only between digit groups of three: `1,23` is not a number with "," thousands.
      if (!new RegExp(`^[+-]?\\d{1,3}(${escapeRe(thousands)}\\d{3})*(${escapeRe(decimal)}\\d*)?$`).test(s) && s.includes(thousands)) return undefined;
      s = s.split(thousands).join('');
    }
    if (decimal !== '.') {
      if (s.includes('.')) return undefined;
      s = s.replace(decimal, '.');
    }
    return PLAIN.test(s) ? s : undefined;
  };
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
