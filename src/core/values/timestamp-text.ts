// The fast paths of date and timestamp text → canonical form (coerce.ts), read by character codes without a regex,
// a Date or a match array. They answer only for the forms they fully understand and return undefined otherwise, and
// the general path (coerce.ts's normalizeTimestamp, the reference, test/unit/timestamp-fast.test.ts compares the two
// on random and hostile text) decides. They never answer for years before 1000 or after 9998: there the general path
// goes through Date.UTC, which reads years 0–99 as 1900–1999 and writes years past 9999 with six digits, and canonical
// values must stay what they were. Written out digit by digit: a loop over a table of offsets, or `s[i]` (a
// one-character string), cost half as much again.

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const digit = (s: string, i: number): number => s.charCodeAt(i) - 48;
/** The number the two digits at `i` write (unchecked: the caller knows they are digits). */
export const twoDigits = (s: string, i: number): number => digit(s, i) * 10 + digit(s, i + 1);
const two = twoDigits;
const isDigitAt = (s: string, i: number): boolean => {
  const c = s.charCodeAt(i);
  return c >= 48 && c <= 57;
};
const isLeap = (year: number): boolean => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);

/** Whether `YYYY-MM-DD` starts `s` and is a day of the calendar (any year: the caller bounds it). */
function isCalendarDate(s: string): boolean {
  if (s.charCodeAt(4) !== 45 /* - */ || s.charCodeAt(7) !== 45 || !(isDigitAt(s, 0) && isDigitAt(s, 1) && isDigitAt(s, 2)
    && isDigitAt(s, 3) && isDigitAt(s, 5) && isDigitAt(s, 6) && isDigitAt(s, 8) && isDigitAt(s, 9))) return false;
  const month = two(s, 5);
  const day = two(s, 8);
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]) return false;
  return month !== 2 || day !== 29 || isLeap(two(s, 0) * 100 + two(s, 2));
}

const yearOf = (s: string): number => two(s, 0) * 100 + two(s, 2);

/** `YYYY-MM-DD` of the calendar, years 1000–9998: the text itself, canonical already; else undefined. */
export function fastDate(s: string): string | undefined {
  if (s.length !== 10 || !isCalendarDate(s)) return undefined;
  const year = yearOf(s);
  return year >= 1000 && year <= 9998 ? s : undefined;
}

/** What a fraction of 1–5 digits (`s.length` 22–26) needs to reach six digits and its Z. */
const FRACTION_PAD = ['00000Z', '0000Z', '000Z', '00Z', '0Z'];

/**
 * A timestamp already in UTC (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`, what most systems export): checked, and only its
 * fraction padded. Any year: for this form, that is what the general path has always been preceded by.
 */
export function fastUtc(s: string): string | undefined {
  const n = s.length;
  if (n < 20 || s.charCodeAt(n - 1) !== 90 /* Z */ || s.charCodeAt(4) !== 45 /* - */ || s.charCodeAt(7) !== 45
    || s.charCodeAt(10) !== 84 /* T */ || s.charCodeAt(13) !== 58 /* : */ || s.charCodeAt(16) !== 58) return undefined;
  if (!(isDigitAt(s, 0) && isDigitAt(s, 1) && isDigitAt(s, 2) && isDigitAt(s, 3) && isDigitAt(s, 5) && isDigitAt(s, 6)
    && isDigitAt(s, 8) && isDigitAt(s, 9) && isDigitAt(s, 11) && isDigitAt(s, 12) && isDigitAt(s, 14) && isDigitAt(s, 15)
    && isDigitAt(s, 17) && isDigitAt(s, 18))) return undefined;
  const month = two(s, 5);
  const day = two(s, 8);
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1] || two(s, 11) > 23 || two(s, 14) > 59 || two(s, 17) > 59) return undefined;
  if (month === 2 && day === 29 && !isLeap(yearOf(s))) return undefined;
  if (n === 20) return `${s.slice(0, 19)}.000000Z`;
  if (s.charCodeAt(19) !== 46 /* . */ || n < 22 || n > 30) return undefined;
  for (let i = 20; i < n - 1; i++) if (!isDigitAt(s, i)) return undefined;
  if (n === 27) return s;
  return n > 27 ? `${s.slice(0, 26)}Z` : s.slice(0, n - 1) + FRACTION_PAD[n - 22];
}

/** Days from 1970-01-01 to a proleptic Gregorian date, and back (H. Hinnant's days_from_civil, civil_from_days). */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  return era * 146097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719468;
}

/** `YYYY-MM-DD` of a day count since 1970-01-01 (years 999–9999: a shift by an offset may leave 1000–9998). */
function civilText(days: number): string {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${year < 1000 ? `0${year}` : year}-${pad2(month)}-${pad2(day)}`;
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
const ZEROS = '000000';

/**
 * The other timestamps the general path reads, in their common spellings: `YYYY-MM-DD[T ]HH:MM[:SS[.,fraction]]`,
 * an optional space, then `Z`, `z`, `±HH`, `±HHMM`, `±HH:MM` or nothing (UTC) — Python's isoformat(), PostgreSQL's
 * output (`2024-01-01 00:00:00+00`), zoneless exports — and a bare date (midnight UTC). Shifted to UTC by whole
 * minutes, the fraction cut (not rounded) to six digits, as the general path does.
 */
export function fastTimestamp(s: string): string | undefined {
  const n = s.length;
  if (n === 10) {
    const d = fastDate(s);
    return d === undefined ? undefined : `${d}T00:00:00.000000Z`;
  }
  if (n < 16 || !isCalendarDate(s)) return undefined;
  const sep = s.charCodeAt(10);
  if ((sep !== 84 /* T */ && sep !== 32) || s.charCodeAt(13) !== 58 /* : */
    || !(isDigitAt(s, 11) && isDigitAt(s, 12) && isDigitAt(s, 14) && isDigitAt(s, 15))) return undefined;
  const year = yearOf(s);
  const hour = two(s, 11);
  const minute = two(s, 14);
  if (year < 1000 || year > 9998 || hour > 23 || minute > 59) return undefined;
  let i = 16;
  let seconds = '00';
  let fraction = ZEROS;
  if (s.charCodeAt(16) === 58) {
    if (!(isDigitAt(s, 17) && isDigitAt(s, 18)) || two(s, 17) > 59) return undefined;
    seconds = s.slice(17, 19);
    i = 19;
    const point = s.charCodeAt(19);
    if (point === 46 /* . */ || point === 44 /* , */) {
      let j = 20;
      while (j < n && isDigitAt(s, j)) j++;
      const digits = j - 20;
      if (digits < 1 || digits > 9) return undefined;
      fraction = digits >= 6 ? s.slice(20, 26) : s.slice(20, j) + ZEROS.slice(digits);
      i = j;
    }
  }
  if (s.charCodeAt(i) === 32) i++;
  let offset = 0;
  if (i < n) {
    const z = s.charCodeAt(i);
    if (z === 90 /* Z */ || z === 122 /* z */) {
      if (i + 1 !== n) return undefined;
    } else if (z === 43 /* + */ || z === 45 /* - */) {
      if (!(isDigitAt(s, i + 1) && isDigitAt(s, i + 2))) return undefined;
      let minutes = two(s, i + 1) * 60;
      const rest = n - i - 3;
      if (rest === 2 || (rest === 3 && s.charCodeAt(i + 3) === 58)) {
        if (!(isDigitAt(s, n - 2) && isDigitAt(s, n - 1))) return undefined;
        minutes += two(s, n - 2);
      } else if (rest !== 0) return undefined;
      offset = z === 45 ? -minutes : minutes;
    } else return undefined;
  } else if (s.charCodeAt(n - 1) === 32) {
    // A trailing space with no zone after it: the general path takes it, and this one need not.
    return undefined;
  }
  const local = hour * 60 + minute - offset;
  if (local >= 0 && local < 1440) {
    const time = offset === 0 ? s.slice(11, 16) : `${pad2(Math.floor(local / 60))}:${pad2(local % 60)}`;
    return `${s.slice(0, 10)}T${time}:${seconds}.${fraction}Z`;
  }
  const dayShift = Math.floor(local / 1440);
  const rest = local - dayShift * 1440;
  const day = civilText(daysFromCivil(year, two(s, 5), two(s, 8)) + dayShift);
  return `${day}T${pad2(Math.floor(rest / 60))}:${pad2(rest % 60)}:${seconds}.${fraction}Z`;
}
