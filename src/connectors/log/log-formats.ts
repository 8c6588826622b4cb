// One line of a log → one typed row, for each supported format. Parsers are pure functions of the line (plus the
// few options a format needs), so the file reader and the follow-mode reader share them.
import type { ColumnType, Row } from '../../core/types.js';
import { isPlainObject } from '../json/json-array-parser.js';
import { parseJson } from '../../core/values/json-parse.js';

export const LOG_FORMATS = ['apache_common', 'apache_combined', 'nginx', 'json', 'syslog_3164', 'syslog_5424', 'regex'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LineOptions {
  format: LogFormat;
  /** Compiled `regex` for the regex format. */
  regex?: RegExp;
  /** Offset for timestamps that carry no zone (RFC 3164), `+HH:MM`; `Z` for UTC. */
  zone: string;
  /** Year for RFC 3164 timestamps, which have none; undefined: the most recent year that does not put the line in the future. */
  year?: number;
  /** Reference time for the year guess (tests pin it). */
  now?: () => Date;
}

/** A parsed line, or the reason it could not be parsed. */
export type LineResult = { row: Row } | { error: string };

/** Column types each format declares, so nothing is inferred (a column of `-` bytes is still an integer). */
export function columnsOf(format: LogFormat): Record<string, ColumnType> | undefined {
  switch (format) {
    case 'apache_common':
      return ACCESS_COMMON;
    case 'apache_combined':
      return { ...ACCESS_COMMON, referer: 'text', user_agent: 'text' };
    case 'nginx':
      return { ...ACCESS_COMMON, referer: 'text', user_agent: 'text', forwarded_for: 'text' };
    case 'syslog_3164':
      return {
        facility: 'integer', severity: 'integer', timestamp: 'timestamp', hostname: 'text', app: 'text', pid: 'integer', message: 'text',
      };
    case 'syslog_5424':
      return {
        facility: 'integer', severity: 'integer', version: 'integer', timestamp: 'timestamp', hostname: 'text', app: 'text',
        pid: 'text', msgid: 'text', structured_data: 'json', message: 'text',
      };
    default:
      return undefined;
  }
}

const ACCESS_COMMON: Record<string, ColumnType> = {
  remote_host: 'text', ident: 'text', user: 'text', timestamp: 'timestamp', request: 'text', method: 'text', path: 'text',
  protocol: 'text', status: 'integer', bytes: 'bigint',
};

export function parseLine(line: string, o: LineOptions): LineResult {
  switch (o.format) {
    case 'apache_common':
    case 'apache_combined':
    case 'nginx':
      return parseAccess(line, o.format);
    case 'json':
      return parseJsonLine(line);
    case 'syslog_3164':
      return parse3164(line, o);
    case 'syslog_5424':
      return parse5424(line);
    case 'regex':
      return parseRegex(line, o.regex!);
  }
}

// ---- Access logs (Apache %h %l %u %t "%r" %>s %b ["%{Referer}i" "%{User-agent}i"], nginx's default `combined`) ----

// Quoted fields escape `"` and `\` with a backslash (Apache) or as \xHH (nginx); neither ends the field.
const QUOTED = '"((?:[^"\\\\]|\\\\.)*)"';
const ACCESS = new RegExp(
  `^(\\S+) (\\S+) (\\S+) \\[([^\\]]+)\\] ${QUOTED} (\\d{3}|-) (\\d+|-)(?: ${QUOTED} ${QUOTED}(?: ${QUOTED})?)?\\s*$`,
);
const REQUEST = /^([A-Za-z]+) (\S+)(?: (HTTP\/\d+(?:\.\d+)?))?$/;

const dash = (s: string | undefined): string | null => (s === undefined || s === '-' ? null : s);

function unescapeQuoted(s: string): string {
  if (!s.includes('\\')) return s;
  return s.replace(/\\(x[0-9A-Fa-f]{2}|.)/g, (_m, e: string) => {
    if (e.length === 3) return String.fromCharCode(parseInt(e.slice(1), 16));
    return e === 'n' ? '\n' : e === 't' ? '\t' : e;
  });
}

function parseAccess(line: string, format: LogFormat): LineResult {
  const m = ACCESS.exec(line);
  if (!m) return { error: `not an ${format} log line` };
  const combined = format !== 'apache_common';
  if (combined && m[8] === undefined) return { error: `not an ${format} log line: the referer and user agent fields are missing` };
  if (!combined && m[8] !== undefined) return { error: 'not an apache_common log line: extra quoted fields (use format: apache_combined)' };
  if (format !== 'nginx' && m[10] !== undefined) return { error: `not an ${format} log line: an extra quoted field follows the user agent` };
  const timestamp = clfTime(m[4]);
  if (!timestamp) return { error: `invalid timestamp [${m[4]}]` };
  const request = unescapeQuoted(m[5]);
  const r = REQUEST.exec(request);
  const row: Row = {
    remote_host: m[1], ident: dash(m[2]), user: dash(m[3]), timestamp, request: request === '-' ? null : request,
    method: r ? r[1] : null, path: r ? r[2] : null, protocol: r?.[3] ?? null,
    status: m[6] === '-' ? null : Number(m[6]), bytes: m[7] === '-' ? null : Number(m[7]),
  };
  if (combined) {
    row.referer = dash(unescapeQuoted(m[8]));
    row.user_agent = dash(unescapeQuoted(m[9]));
  }
  if (format === 'nginx') row.forwarded_for = dash(m[10] === undefined ? undefined : unescapeQuoted(m[10]));
  return { row };
}

const MONTHS: Record<string, string> = {
  Jan: '01', Feb: '02', Mar: '03', Apr: '04', May: '05', Jun: '06', Jul: '07', Aug: '08', Sep: '09', Oct: '10', Nov: '11', Dec: '12',
};
const CLF_TIME = /^(\d{2})\/([A-Z][a-z]{2})\/(\d{4}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))? ([+-])(\d{2}):?(\d{2})$/;

/** `10/Oct/2000:13:55:36 -0700` → `2000-10-10T13:55:36-07:00` (the zone kept, so the instant is exact). */
function clfTime(s: string): string | undefined {
  const m = CLF_TIME.exec(s);
  if (!m) return undefined;
  const month = MONTHS[m[2]];
  if (!month) return undefined;
  const iso = `${m[3]}-${month}-${m[1]}T${m[4]}:${m[5]}:${m[6]}${m[7] ? `.${m[7]}` : ''}${m[8]}${m[9]}:${m[10]}`;
  return validIso(iso) ? iso : undefined;
}

/** Rejects 31 Feb and 25:00 (Date.parse would roll them over). */
function validIso(iso: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})/.exec(iso);
  if (!m) return false;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return false;
  return d <= new Date(Date.UTC(y, mo, 0)).getUTCDate();
}

// ---- JSON lines ----

function parseJsonLine(line: string): LineResult {
  let value: unknown;
  try {
    value = parseJson(line);
  } catch (e) {
    return { error: `invalid JSON: ${(e as Error).message}` };
  }
  if (!isPlainObject(value)) return { error: `expected a JSON object, got ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}` };
  return { row: value };
}

// ---- Syslog ----

/** `<PRI>`: facility × 8 + severity, 0..191. */
function priority(line: string): { facility: number | null; severity: number | null; rest: string } | { error: string } {
  const m = /^<(\d{1,3})>/.exec(line);
  if (!m) return { facility: null, severity: null, rest: line };
  const pri = Number(m[1]);
  if (pri > 191 || (m[1].length > 1 && m[1][0] === '0')) return { error: `invalid syslog priority <${m[1]}>` };
  return { facility: pri >> 3, severity: pri & 7, rest: line.slice(m[0].length) };
}

// `Oct 11 22:14:15` (day space-padded), or the ISO timestamp rsyslog writes with its high-precision template.
const BSD_TIME = /^([A-Z][a-z]{2}) ([ \d]\d) (\d{2}):(\d{2}):(\d{2}) /;
const ISO_TIME = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})) /;
const TAG = /^([^\s[\]:]{1,128})(?:\[(\d+)\])?: ?/;

function parse3164(line: string, o: LineOptions): LineResult {
  const pri = priority(line);
  if ('error' in pri) return pri;
  let rest = pri.rest;
  let timestamp: string;
  const bsd = BSD_TIME.exec(rest);
  if (bsd) {
    const month = MONTHS[bsd[1]];
    if (!month) return { error: `invalid syslog timestamp "${bsd[0].trim()}"` };
    const day = bsd[2].trim().padStart(2, '0');
    const year = o.year ?? guessYear(Number(month), Number(day), o);
    timestamp = `${year}-${month}-${day}T${bsd[3]}:${bsd[4]}:${bsd[5]}${o.zone === 'Z' ? 'Z' : o.zone}`;
    if (!validIso(timestamp)) return { error: `invalid syslog timestamp "${bsd[0].trim()}"` };
    rest = rest.slice(bsd[0].length);
  } else {
    const iso = ISO_TIME.exec(rest);
    if (!iso || !validIso(iso[1])) return { error: 'not an RFC 3164 syslog line: no timestamp ("Mmm dd hh:mm:ss" or ISO 8601) after the priority' };
    timestamp = iso[1];
    rest = rest.slice(iso[0].length);
  }
  const sp = rest.indexOf(' ');
  const hostname = sp < 0 ? rest : rest.slice(0, sp);
  if (!hostname) return { error: 'not an RFC 3164 syslog line: no hostname' };
  rest = sp < 0 ? '' : rest.slice(sp + 1);
  const tag = TAG.exec(rest);
  return {
    row: {
      facility: pri.facility, severity: pri.severity, timestamp, hostname,
      app: tag ? tag[1] : null, pid: tag?.[2] ? Number(tag[2]) : null, message: tag ? rest.slice(tag[0].length) : rest,
    },
  };
}

/**
 * RFC 3164 has no year. The most recent year that does not put the line more than a day in the future: a December
 * line read in January belongs to last year.
 */
function guessYear(month: number, day: number, o: LineOptions): number {
  const now = (o.now ?? (() => new Date()))();
  const year = now.getUTCFullYear();
  return Date.UTC(year, month - 1, day) > now.getTime() + 86_400_000 ? year - 1 : year;
}

const HEADER_5424 = /^([1-9]\d{0,2}) (\S+) (\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) /;
const TIME_5424 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})$/;

function parse5424(line: string): LineResult {
  const pri = priority(line);
  if ('error' in pri) return pri;
  if (pri.facility === null) return { error: 'not an RFC 5424 syslog line: no <PRI>' };
  // The header's last field may be followed directly by the structured data and nothing else: pad so it matches.
  const h = HEADER_5424.exec(pri.rest.endsWith(' ') ? pri.rest : `${pri.rest} `);
  if (!h) return { error: 'not an RFC 5424 syslog line: expected VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID' };
  if (h[2] !== '-' && !(TIME_5424.test(h[2]) && validIso(h[2]))) return { error: `invalid RFC 5424 timestamp "${h[2]}"` };
  const sd = structuredData(pri.rest.slice(h[0].length));
  if ('error' in sd) return sd;
  if (sd.rest.length && !sd.rest.startsWith(' ')) return { error: 'RFC 5424: expected a space between the structured data and the message' };
  let message = sd.rest.length ? sd.rest.slice(1) : null;
  // A UTF-8 message may start with a byte-order mark (RFC 5424 §6.4); it is not part of the text.
  if (message?.startsWith('\uFEFF')) message = message.slice(1);
  return {
    row: {
      facility: pri.facility, severity: pri.severity, version: Number(h[1]), timestamp: dash(h[2]), hostname: dash(h[3]),
      app: dash(h[4]), pid: dash(h[5]), msgid: dash(h[6]), structured_data: sd.value, message,
    },
  };
}

/** `-` or `[id k="v" …][id2 …]` with `\"`, `\\` and `\]` escaped in values → `{id: {k: v}}`. */
function structuredData(s: string): { value: Record<string, Record<string, string>> | null; rest: string } | { error: string } {
  if (s.startsWith('-')) return { value: null, rest: s.slice(1) };
  if (!s.startsWith('[')) return { error: 'RFC 5424: expected structured data ("-" or "[id …]")' };
  const value: Record<string, Record<string, string>> = {};
  let i = 0;
  while (s[i] === '[') {
    const id = /^\[([^\s=\]"]{1,32})/.exec(s.slice(i));
    if (!id) return { error: `RFC 5424: invalid SD-ID at column ${i + 1} of the structured data` };
    i += id[0].length;
    const params: Record<string, string> = {};
    while (s[i] === ' ') {
      const name = /^ ([^\s=\]"]{1,32})="/.exec(s.slice(i, i + 40));
      if (!name) return { error: `RFC 5424: invalid SD-PARAM in [${id[1]}]` };
      i += name[0].length;
      let v = '';
      for (;;) {
        const c = s[i];
        if (c === undefined) return { error: `RFC 5424: unterminated value of ${id[1]}.${name[1]}` };
        if (c === '\\' && (s[i + 1] === '"' || s[i + 1] === '\\' || s[i + 1] === ']')) {
          v += s[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          break;
        } else {
          v += c;
          i++;
        }
      }
      setKey(params, name[1], v);
    }
    if (s[i] !== ']') return { error: `RFC 5424: expected "]" to close [${id[1]}]` };
    i++;
    setKey(value, id[1], params);
  }
  return { value, rest: s.slice(i) };
}

/** Defined, not assigned: a key named `__proto__` (an SD-ID, a group name) stays an ordinary key. */
function setKey(o: object, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

// ---- Custom formats ----

function parseRegex(line: string, regex: RegExp): LineResult {
  const m = regex.exec(line);
  if (!m?.groups) return { error: 'line does not match the regex' };
  const row: Row = {};
  for (const [k, v] of Object.entries(m.groups)) setKey(row, k, v === undefined || v === '-' ? null : v);
  return { row };
}
