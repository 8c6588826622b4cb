// The `log` source: options, docs and construction in one place.
import { z } from 'zod';
import { isDynamicPattern } from 'tinyglobby';
import type { SourceSpec } from '../../core/connector.js';
import { fileSourceConfig, fileStreamKeys, type FileSourceConfig } from '../file-source/options.js';
import { isS3Url } from '../s3/s3-spec.js';
import { LOG_FORMATS } from './log-formats.js';

/** `UTC`, `Z` or a fixed offset `+HH:MM` / `-HHMM` → `Z` or `+HH:MM`; undefined when it is none of these. */
export function normalizeZone(zone: string): string | undefined {
  if (/^(utc|z|gmt)$/i.test(zone)) return 'Z';
  const m = /^([+-])(\d{2}):?(\d{2})$/.exec(zone);
  if (!m || Number(m[2]) > 14 || Number(m[3]) > 59) return undefined;
  return `${m[1]}${m[2]}:${m[3]}`;
}

function compiles(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

const logKeys = z.object({
  ...fileStreamKeys,
  format: z.enum(LOG_FORMATS)
    .describe('Line format. `apache_common` (`%h %l %u %t "%r" %>s %b`) and `apache_combined` (plus `"%{Referer}i" "%{User-agent}i"`) give remote_host, ident, user, timestamp (with the zone of the line), request, method, path, protocol, status (integer) and bytes (bigint; `-` is NULL), and referer and user_agent for combined. `nginx` is nginx\'s default `combined` format, with an optional trailing `"$http_x_forwarded_for"` (forwarded_for). `json` reads one JSON object per line, keys as columns. `syslog_3164` (BSD syslog, `<PRI>` optional, `Mmm dd hh:mm:ss` or ISO 8601 timestamp) gives facility, severity, timestamp, hostname, app, pid (integer), message. `syslog_5424` gives facility, severity, version, timestamp, hostname, app, pid (PROCID, text), msgid, structured_data (json: `{"SD-ID": {"param": "value"}}`) and message; `-` fields are NULL. `regex` takes the named groups of `regex` as text columns. Types of the built-in formats are declared, never inferred; a line that does not parse goes to the dead-letter queue with its file and line number.'),
  regex: z.string().min(1).refine(compiles, 'a JavaScript regular expression').optional()
    .describe('With `format: regex`: a JavaScript regular expression with named groups (`(?<status>\\d{3})`); each group becomes a text column (a group that did not take part, or matched `-`, is NULL). Declare `columns` for other types. Lines that do not match go to the dead-letter queue.'),
  timezone: z.string().refine((z) => normalizeZone(z) !== undefined, 'UTC or a fixed offset such as +02:00').default('UTC')
    .describe('Zone of timestamps that carry none (RFC 3164 `Mmm dd hh:mm:ss`): `UTC` or a fixed offset such as `+02:00`. Formats with a zone in every timestamp ignore it.'),
  year: z.number().int().min(1970).max(9999).optional()
    .describe('Year of RFC 3164 timestamps, which have none. By default the most recent year that does not put the line more than a day in the future (a December line read in January is from last year).'),
  follow: z.boolean().default(false)
    .describe('Keep reading as the file grows (like `tail -F`) until the run is stopped (SIGINT/SIGTERM commit the rows read so far and exit 0). The byte offset after the last committed line, and the file identity (device and inode), are kept in state, so a re-run resumes at the next line. Rotation (the path names a new file: the old one is read to its end first) and truncation (the file is shorter than the offset: read again from the start) are detected and logged. `path` must name one plain local file (no glob, no `s3://` object), uncompressed, in an ASCII-compatible encoding.'),
  poll_ms: z.number().int().min(10).max(60_000).default(250)
    .describe('With `follow`: how often to look for new bytes, rotation and truncation, in milliseconds.'),
  flush_ms: z.number().int().min(10).max(3_600_000).default(1000)
    .describe('With `follow`: rows read are committed once `batch_size` rows are ready or this many milliseconds after the first of them was read, whichever comes first.'),
});

/** Cross-key rules, kept beside the keys so the strict (pipeline file) and the loose (source) schema share them. */
function checkLog(o: z.output<typeof logKeys>, ctx: z.RefinementCtx): void {
  if (o.format === 'regex' && o.regex === undefined) ctx.addIssue({ code: 'custom', path: ['regex'], message: '`format: regex` needs a `regex` with named groups' });
  if (o.regex !== undefined && o.format !== 'regex') ctx.addIssue({ code: 'custom', path: ['regex'], message: '`regex` is used only with `format: regex`' });
  if (o.regex !== undefined && compiles(o.regex) && !/\(\?<[A-Za-z_$][\w$]*>/.test(o.regex)) {
    ctx.addIssue({ code: 'custom', path: ['regex'], message: 'the regex has no named group (`(?<name>…)`): it would give no columns' });
  }
  if (o.follow) {
    if (isDynamicPattern(o.path)) ctx.addIssue({ code: 'custom', path: ['path'], message: '`follow` reads one file: give a plain path, not a glob' });
    if (isS3Url(o.path)) ctx.addIssue({ code: 'custom', path: ['follow'], message: '`follow` tails a local file as it grows: an s3:// object is never appended to (it is replaced whole), so it cannot be followed; drop `follow` to read the objects once each' });
    if (o.compression === 'gzip' || o.compression === 'zstd') ctx.addIssue({ code: 'custom', path: ['compression'], message: `\`follow\` reads plain files, not ${o.compression}` });
    if (/^(utf-?16|utf-?32|ucs-?2)/i.test(o.encoding)) ctx.addIssue({ code: 'custom', path: ['encoding'], message: '`follow` needs an ASCII-compatible encoding (lines are split on the newline byte)' });
  }
}

const logStream = logKeys.superRefine(checkLog);
export type LogStreamOptions = z.output<typeof logKeys>;

export const logSourceSpec: SourceSpec<FileSourceConfig> = {
  kind: 'source',
  type: 'log',
  status: 'beta',
  description: 'Log files parsed into typed columns: Apache common/combined, nginx, JSON lines, syslog RFC 3164 and 5424, '
    + 'or a regex with named groups. Plain, gzip- or Zstandard-compressed (rotated archives), local or in an S3 bucket, one stream per path or glob; with '
    + '`follow`, a growing file is tailed across rotation and truncation with its byte offset in state. A line that '
    + 'does not parse goes to the dead-letter queue with its file and line number; the rest loads.',
  config: fileSourceConfig.strict(),
  stream: logKeys.strict().superRefine(checkLog),
  create: async (config) => new (await import('./log-source.js')).LogSource(logStream, config.s3),
};
