// Dates and timestamps in the formats files actually contain: ISO 8601, explicit patterns (`dd/MM/yyyy HH:mm`,
// `MMM d, yyyy`, `EEE, d MMM yyyy HH:mm:ss Z`), epoch seconds or milliseconds — read as wall time in an IANA zone
// unless the text carries its own offset. Zones come from Intl (the ICU data Node ships), so no date library.
import { FAIL, normalizeTimestamp } from '../../core/values/coerce.js';
import { TIMESTAMP } from '../../core/values/infer.js';

/** Wall-clock fields of a parsed value, plus its offset in minutes when the text had one. */
interface Fields {
  y: number; mo: number; d: number; h: number; mi: number; s: number; ms: number;
  offset?: number;
  /** AM/PM, applied to the hour after every field is read (it may come before or after the hour). */
  pm?: boolean;
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const monthOf = (name: string): number => {
  const n = name.toLowerCase();
  return MONTHS.findIndex((m) => m === n || m.slice(0, 3) === n.slice(0, 3) && (n.length === 3 || (n.length === 4 && n.endsWith('.')))) + 1;
};

const offsetMinutes = (z: string): number => {
  if (/^(z|gmt|utc)$/i.test(z)) return 0;
  const sign = z[0] === '-' ? -1 : 1;
  const digits = z.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0));
};

type Setter = (f: Fields, text: string) => boolean;

/** Pattern tokens → regex piece and how the matched text sets a field. Longest tokens first. */
const TOKENS: [string, string, Setter][] = [
  ['yyyy', '(\\d{4})', (f, t) => ((f.y = +t), true)],
  ['yy', '(\\d{2})', (f, t) => ((f.y = +t < 70 ? 2000 + +t : 1900 + +t), true)],
  ['MMMM', '([A-Za-z]+)', (f, t) => ((f.mo = monthOf(t)), f.mo > 0)],
  ['MMM', '([A-Za-z]{3}\\.?)', (f, t) => ((f.mo = monthOf(t)), f.mo > 0)],
  ['MM', '(\\d{2})', (f, t) => ((f.mo = +t), true)],
  ['M', '(\\d{1,2})', (f, t) => ((f.mo = +t), true)],
  ['dd', '(\\d{2})', (f, t) => ((f.d = +t), true)],
  ['d', '(\\d{1,2})', (f, t) => ((f.d = +t), true)],
  ['HH', '(\\d{2})', (f, t) => ((f.h = +t), true)],
  ['H', '(\\d{1,2})', (f, t) => ((f.h = +t), true)],
  ['hh', '(\\d{2})', (f, t) => ((f.h = +t), +t >= 1 && +t <= 12)],
  ['h', '(\\d{1,2})', (f, t) => ((f.h = +t), +t >= 1 && +t <= 12)],
  ['mm', '(\\d{2})', (f, t) => ((f.mi = +t), true)],
  ['m', '(\\d{1,2})', (f, t) => ((f.mi = +t), true)],
  ['ss', '(\\d{2})', (f, t) => ((f.s = +t), true)],
  ['s', '(\\d{1,2})', (f, t) => ((f.s = +t), true)],
  ['S', '(\\d{1,9})', (f, t) => ((f.ms = Number(t.padEnd(3, '0').slice(0, 3))), true)],
  ['a', '([AaPp]\\.?[Mm]\\.?)', (f, t) => ((f.pm = /^p/i.test(t)), true)],
  ['EEEE', '[A-Za-z]+', () => true],
  ['EEE', '[A-Za-z]{3}', () => true],
  ['XXX', '(Z|z|[+-]\\d{2}:?\\d{2}|[+-]\\d{2})', (f, t) => ((f.offset = offsetMinutes(t)), true)],
  ['Z', '(Z|z|GMT|UTC|[+-]\\d{2}:?\\d{2})', (f, t) => ((f.offset = offsetMinutes(t)), true)],
];

export interface DatePattern {
  regex: RegExp;
  setters: Setter[];
}

/**
 * Compile a pattern (`dd/MM/yyyy HH:mm`, `yyyy-MM-dd'T'HH:mm:ssXXX`): letters are fields, 'quoted' text and
 * other characters are literal. Throws for letters that are not a known field.
 */
export function compilePattern(pattern: string): DatePattern {
  let re = '';
  const setters: Setter[] = [];
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i];
    if (c === "'") {
      const end = pattern.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in date format "${pattern}"`);
      re += end === i + 1 ? "'" : escape(pattern.slice(i + 1, end));
      i = end + 1;
      continue;
    }
    if (/[A-Za-z]/.test(c)) {
      let run = 1;
      while (pattern[i + run] === c) run++;
      // S… is any number of fraction digits; X/Z of any width is an offset; others must be a known token.
      const key = c === 'S' ? 'S' : c === 'X' ? 'XXX' : c === 'Z' ? 'Z' : c === 'E' ? (run >= 4 ? 'EEEE' : 'EEE') : c === 'x' ? 'XXX' : c.repeat(run);
      const token = TOKENS.find(([t]) => t === key);
      if (!token) throw new Error(`unknown field "${c.repeat(run)}" in date format "${pattern}" (known: yyyy yy MMMM MMM MM M dd d HH H hh h mm m ss s SSS a EEE XXX Z)`);
      re += token[1];
      if (token[1].startsWith('(')) setters.push(token[2]);
      i += run;
      continue;
    }
    re += escape(c);
    i++;
  }
  return { regex: new RegExp(`^${re}$`, 'i'), setters };
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&').replace(/ /g, '\\s+');

function applyPattern(p: DatePattern, text: string): Fields | undefined {
  const m = p.regex.exec(text);
  if (!m) return undefined;
  const f: Fields = { y: 1970, mo: 1, d: 1, h: 0, mi: 0, s: 0, ms: 0 };
  for (let k = 0; k < p.setters.length; k++) if (!p.setters[k](f, m[k + 1])) return undefined;
  if (f.pm !== undefined) f.h = (f.h % 12) + (f.pm ? 12 : 0);
  return f;
}

function isoFields(text: string): Fields | undefined {
  const m = TIMESTAMP.exec(text);
  if (m) {
    const [, y, mo, d, h, mi, s = '0', frac = '', zone] = m;
    return { y: +y, mo: +mo, d: +d, h: +h, mi: +mi, s: +s, ms: Number(frac.padEnd(3, '0').slice(0, 3)), ...(zone ? { offset: offsetMinutes(zone) } : {}) };
  }
  const dm = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  return dm ? { y: +dm[1], mo: +dm[2], d: +dm[3], h: 0, mi: 0, s: 0, ms: 0 } : undefined;
}

/** Patterns tried after ISO 8601 when no `format` is given. Day-first vs month-first slashes need a format. */
export const DEFAULT_PATTERNS = [
  'yyyy/MM/dd HH:mm:ss', 'yyyy/MM/dd HH:mm', 'yyyy/MM/dd', 'EEE, d MMM yyyy HH:mm:ss Z', 'd MMM yyyy HH:mm:ss Z',
  'd MMM yyyy', 'd MMMM yyyy', 'MMM d, yyyy', 'MMMM d, yyyy', 'MMM d yyyy', 'yyyyMMdd',
];

const validFields = (f: Fields): boolean => {
  if (f.mo < 1 || f.mo > 12 || f.d < 1 || f.h > 23 || f.mi > 59 || f.s > 59) return false;
  const probe = new Date(Date.UTC(f.y, f.mo - 1, f.d));
  return probe.getUTCDate() === f.d;
};

/** Offsets (ms) of an IANA zone at UTC instants, cached per hour: Intl formatting is slow per row. */
class ZoneOffsets {
  private readonly dtf: Intl.DateTimeFormat;
  private readonly cache = new Map<number, number>();

  constructor(zone: string) {
    this.dtf = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
  }

  at(utcMs: number): number {
    const hour = Math.floor(utcMs / 3600000);
    let off = this.cache.get(hour);
    if (off === undefined) {
      const p: Record<string, number> = {};
      for (const part of this.dtf.formatToParts(new Date(hour * 3600000))) if (part.type !== 'literal') p[part.type] = Number(part.value);
      off = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - hour * 3600000;
      if (this.cache.size > 50000) this.cache.clear();
      this.cache.set(hour, off);
    }
    return off;
  }

  /**
   * UTC instant of a wall-clock time in the zone, as java.time and Temporal ("compatible") do: in an overlap (clocks
   * going back) the earlier instant; in a gap (clocks going forward) the time is read with the offset before the
   * gap, which moves it forward by the gap's length (02:30 → 03:30).
   */
  toUtc(wallMs: number): number {
    // The offsets in force half a day either side cover any transition near this wall time.
    const before = this.at(wallMs - 43200000);
    const after = this.at(wallMs + 43200000);
    if (before === after && this.at(wallMs - before) === before) return wallMs - before;
    const earlier = Math.max(before, after);
    const later = Math.min(before, after);
    if (this.at(wallMs - earlier) === earlier) return wallMs - earlier;
    if (this.at(wallMs - later) === later) return wallMs - later;
    return wallMs - before;
  }
}

/** Whether Intl knows the zone name. */
export function isZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

export interface DateParseOptions {
  /** Patterns to try, in order; default: ISO 8601 then DEFAULT_PATTERNS. */
  format?: string[];
  /** IANA zone of values without an offset; default UTC. */
  zone?: string;
  /** Numbers are epoch seconds or milliseconds. */
  unit?: 'seconds' | 'milliseconds';
}


const canonical = (ms: number): string => {
  const iso = new Date(ms).toISOString();
  return iso.length === 24 ? `${iso.slice(0, 23)}000Z` : iso;
};

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/**
 * A parser for one cast column; undefined for text it cannot read. A `timestamp` comes out in the engine's
 * canonical form, `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC): destinations take it as it is, expressions compare it as
 * text or read it as a date, and microseconds survive. A `date` is the calendar date as written, `YYYY-MM-DD`.
 */
export function dateParser(o: DateParseOptions, kind: 'timestamp' | 'date'): (v: unknown) => string | undefined {
  const wantDate = kind === 'date';
  const patterns = (o.format ?? DEFAULT_PATTERNS).map(compilePattern);
  const iso = !o.format;
  const zone = o.zone && o.zone !== 'UTC' ? new ZoneOffsets(o.zone) : undefined;
  // ISO text read as UTC (no zone given, or the text carries its offset) takes the engine's fast path.
  const fastIso = iso && !zone;
  const fromMs = (ms: number): string | undefined => {
    if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) return undefined;
    const instant = canonical(ms);
    return wantDate ? instant.slice(0, 10) : instant;
  };
  const fromEpoch = (n: number): string | undefined =>
    fromMs(o.unit === 'milliseconds' || (!o.unit && Math.abs(n) >= 1e11) ? n : n * 1000);
  return (v) => {
    if (v instanceof Date) return fromMs(v.getTime());
    if (typeof v === 'number') return Number.isFinite(v) ? fromEpoch(v) : undefined;
    if (typeof v !== 'string') return undefined;
    const text = v.length && (v.charCodeAt(0) <= 32 || v.charCodeAt(v.length - 1) <= 32) ? v.trim() : v;
    if (fastIso) {
      const n = normalizeTimestamp(text);
      if (n !== FAIL) return wantDate ? text.slice(0, 10) : n;
    }
    let f = iso ? isoFields(text) : undefined;
    for (let k = 0; !f && k < patterns.length; k++) f = applyPattern(patterns[k], text);
    if (!f) {
      if ((o.unit || !o.format) && /^-?\d{9,13}(\.\d+)?$/.test(text)) return fromEpoch(Number(text));
      return undefined;
    }
    if (!validFields(f)) return undefined;
    const wall = Date.UTC(f.y, f.mo - 1, f.d, f.h, f.mi, f.s, f.ms);
    const utc = f.offset !== undefined ? wall - f.offset * 60000 : zone ? zone.toUtc(wall) : wall;
    return wantDate ? `${pad(f.y, 4)}-${pad(f.mo)}-${pad(f.d)}` : fromMs(utc);
  };
}
