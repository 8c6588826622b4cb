// A JSON number a double cannot hold exactly (more than 15 significant digits, or beyond a double's range), kept as
// written until it is coerced to its column's type: `decimal` and `text` get every digit, `json` the number as
// written, `double` the nearest double. Integers beyond 2^53 are JS bigints instead (the canonical bigint form).
export class JsonNumber {
  constructor(readonly text: string) {}

  /** Plain decimal text (no exponent): `1.5e-3` → `0.0015`; undefined beyond what any decimal type holds. */
  get decimal(): string | undefined {
    return plainDecimal(this.text);
  }

  /** The nearest double, for arithmetic and comparison. */
  valueOf(): number {
    return Number(this.text);
  }

  toString(): string {
    return this.text;
  }

  /**
   * JSON.stringify of a record holding one (a dead-letter payload, a dedupe hash) writes its text as a string. Inside
   * jsonText (a `json` column's value) it throws, as a bigint does, so that jsonText writes the number as written.
   */
  toJSON(): string {
    if (rawJson) throw new TypeError('an exact JSON number is written by jsonText');
    return this.text;
  }
}

let rawJson = false;

/** JSON.stringify(v), with exact numbers refusing it (see JsonNumber.toJSON): jsonText then writes them itself. */
export function stringifyRefusingExact(v: unknown): string | undefined {
  const outer = rawJson;
  rawJson = true;
  try {
    return JSON.stringify(v);
  } finally {
    rawJson = outer;
  }
}

/** Digits before or after the point past which no destination's decimal type reaches (PostgreSQL's numeric: 131072, 16383). */
const DECIMAL_REACH = 131072;

/** A JSON number's text (`-12.5e-3`) as plain decimal text (`-0.0125`); undefined when its exponent reaches past any decimal type. */
export function plainDecimal(text: string): string | undefined {
  const e = text.search(/[eE]/);
  const negative = text.charCodeAt(0) === 45;
  const mantissa = text.slice(negative ? 1 : 0, e < 0 ? text.length : e);
  const exponent = e < 0 ? 0 : Number(text.slice(e + 1));
  if (!(Math.abs(exponent) <= DECIMAL_REACH)) return undefined;
  const dot = mantissa.indexOf('.');
  let digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  // Position of the decimal point within `digits`, after the exponent moves it.
  let point = (dot < 0 ? mantissa.length : dot) + exponent;
  if (point <= 0) {
    digits = '0'.repeat(1 - point) + digits;
    point = 1;
  } else if (point > digits.length) {
    digits += '0'.repeat(point - digits.length);
  }
  let whole = digits.slice(0, point).replace(/^0+(?=\d)/, '');
  const fraction = digits.slice(point).replace(/0+$/, '');
  if (whole === '') whole = '0';
  const out = fraction ? `${whole}.${fraction}` : whole;
  return negative && /[1-9]/.test(out) ? `-${out}` : out;
}
