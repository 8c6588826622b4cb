// JSON text → JS values without losing a number. JSON.parse turns every number into a double, so an id beyond 2^53
// or an amount with more than 15 significant digits would lose digits before its column's type is known. A document
// that may hold such a number has a run of 16 digits (or digits and a point); the check for one probes every 16th
// character (a miss skips ahead), about a tenth of JSON.parse's own time, and only such documents take the exact
// parser below. Integers beyond 2^53 become bigints, other numbers past a double's precision JsonNumbers (their text);
// everything else is what JSON.parse gives (duplicate keys: the last wins; `__proto__` is an ordinary key).
import { setKey } from '../record.js';
import { JsonNumber } from './json-number.js';

const WINDOW = 16;

const isNumberChar = (c: number): boolean => (c >= 48 && c <= 57) || c === 46;

/** True when `text` has 16 consecutive digits and points: where a number past a double's precision can be. */
export function mayHoldLongNumber(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i + WINDOW - 1 < n) {
    const last = i + WINDOW - 1;
    if (!isNumberChar(text.charCodeAt(last))) {
      i = last + 1;
      continue;
    }
    let q = last - 1;
    while (q >= i && isNumberChar(text.charCodeAt(q))) q--;
    if (q < i) return true;
    i = q + 1;
  }
  return false;
}

/** JSON.parse, but numbers keep every digit (see the header). Throws JSON.parse's SyntaxError for invalid text. */
export function parseJson(text: string): unknown {
  if (!mayHoldLongNumber(text)) return JSON.parse(text);
  try {
    return new ExactJson(text).document();
  } catch (e) {
    // JSON.parse's message for the same text, which says what is wrong where.
    JSON.parse(text);
    throw e;
  }
}

/** A JSON number token as the value it stands for, exactly. */
export function exactNumber(token: string): number | bigint | JsonNumber {
  const n = Number(token);
  // Within a double's normal range (a zero only when written as one), 15 significant digits are held exactly.
  const inRange = n === 0 ? ZERO.test(token) : Math.abs(n) >= MIN_NORMAL && Math.abs(n) <= Number.MAX_VALUE;
  // 15 characters hold at most 15 digits.
  if (token.length <= 15 && inRange) return n;
  let plain = true;
  let significant = 0;
  let leading = true;
  let zeros = 0;
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    if (c === 101 || c === 69) {
      plain = false;
      break;
    }
    if (c === 46) {
      plain = false;
      continue;
    }
    if (c < 48 || c > 57) continue;
    if (c === 48) {
      if (!leading) zeros++;
      continue;
    }
    leading = false;
    significant += zeros + 1;
    zeros = 0;
  }
  if (plain) return Number.isSafeInteger(n) ? n : BigInt(token);
  return significant <= 15 && inRange ? n : new JsonNumber(token);
}

const ZERO = /^-?0(?:\.0+)?(?:[eE][+-]?\d+)?$/;
const MIN_NORMAL = 2.2250738585072014e-308;

class ExactJson {
  private i = 0;

  constructor(private readonly s: string) {}

  document(): unknown {
    const v = this.value();
    this.space();
    if (this.i !== this.s.length) this.fail();
    return v;
  }

  private fail(): never {
    throw new SyntaxError(`invalid JSON at position ${this.i}`);
  }

  private space(): void {
    const s = this.s;
    let c = s.charCodeAt(this.i);
    while (c === 32 || c === 10 || c === 13 || c === 9) c = s.charCodeAt(++this.i);
  }

  private value(): unknown {
    this.space();
    const c = this.s.charCodeAt(this.i);
    if (c === 34) return this.string();
    if (c === 123) return this.object();
    if (c === 91) return this.array();
    if (c === 45 || (c >= 48 && c <= 57)) return this.number();
    if (this.s.startsWith('true', this.i)) return this.word(4, true);
    if (this.s.startsWith('false', this.i)) return this.word(5, false);
    if (this.s.startsWith('null', this.i)) return this.word(4, null);
    return this.fail();
  }

  private word<T>(length: number, v: T): T {
    this.i += length;
    return v;
  }

  private object(): Record<string, unknown> {
    const o: Record<string, unknown> = {};
    this.i++;
    this.space();
    if (this.s.charCodeAt(this.i) === 125) {
      this.i++;
      return o;
    }
    for (;;) {
      this.space();
      if (this.s.charCodeAt(this.i) !== 34) this.fail();
      const key = this.string();
      this.space();
      if (this.s.charCodeAt(this.i) !== 58) this.fail();
      this.i++;
      setKey(o, key, this.value());
      this.space();
      const c = this.s.charCodeAt(this.i++);
      if (c === 125) return o;
      if (c !== 44) this.fail();
    }
  }

  private array(): unknown[] {
    const a: unknown[] = [];
    this.i++;
    this.space();
    if (this.s.charCodeAt(this.i) === 93) {
      this.i++;
      return a;
    }
    for (;;) {
      a.push(this.value());
      this.space();
      const c = this.s.charCodeAt(this.i++);
      if (c === 93) return a;
      if (c !== 44) this.fail();
    }
  }

  private string(): string {
    const s = this.s;
    const start = this.i + 1;
    const end = s.indexOf('"', start);
    if (end < 0) this.fail();
    // The common string: no escape and no control character before its closing quote.
    let plain = true;
    for (let j = start; j < end; j++) {
      const c = s.charCodeAt(j);
      if (c === 92 || c < 32) {
        plain = false;
        break;
      }
    }
    if (plain) {
      this.i = end + 1;
      return s.slice(start, end);
    }
    let out = '';
    let from = start;
    let j = start;
    for (;;) {
      const c = s.charCodeAt(j);
      if (Number.isNaN(c) || c < 32) {
        this.i = j;
        this.fail();
      }
      if (c === 34) break;
      if (c !== 92) {
        j++;
        continue;
      }
      out += s.slice(from, j);
      const e = s.charCodeAt(j + 1);
      if (e === 117 /* u */) {
        const hex = s.slice(j + 2, j + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) {
          this.i = j;
          this.fail();
        }
        out += String.fromCharCode(parseInt(hex, 16));
        j += 6;
      } else {
        const escaped = ESCAPES[e];
        if (escaped === undefined) {
          this.i = j;
          this.fail();
        }
        out += escaped;
        j += 2;
      }
      from = j;
    }
    this.i = j + 1;
    return out + s.slice(from, j);
  }

  private number(): number | bigint | JsonNumber {
    const s = this.s;
    const start = this.i;
    let j = start;
    if (s.charCodeAt(j) === 45) j++;
    if (s.charCodeAt(j) === 48) j++;
    else if (isDigit(s.charCodeAt(j))) while (isDigit(s.charCodeAt(j))) j++;
    else this.fail();
    if (s.charCodeAt(j) === 46) {
      j++;
      if (!isDigit(s.charCodeAt(j))) this.fail();
      while (isDigit(s.charCodeAt(j))) j++;
    }
    const e = s.charCodeAt(j);
    if (e === 101 || e === 69) {
      j++;
      const sign = s.charCodeAt(j);
      if (sign === 43 || sign === 45) j++;
      if (!isDigit(s.charCodeAt(j))) this.fail();
      while (isDigit(s.charCodeAt(j))) j++;
    }
    this.i = j;
    return exactNumber(s.slice(start, j));
  }
}

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

const ESCAPES: Record<number, string> = { 34: '"', 92: '\\', 47: '/', 98: '\b', 102: '\f', 110: '\n', 114: '\r', 116: '\t' };
