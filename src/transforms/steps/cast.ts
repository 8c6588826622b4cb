// `cast: { total: decimal, ordered_at: { type: timestamp, format: "dd/MM/yyyy HH:mm", zone: Europe/Paris } }`:
// values become the canonical form of a column type (what destinations receive) and the type is declared for the
// column, so it is not inferred again. A value that does not fit sends its row to the dead-letter queue with the
// column, the value and the type — or becomes null with `on_error: null`.
import { z } from 'zod';
import { jsonText } from '../../core/values/array-text.js';
import { valueCoercer, FAIL } from '../../core/values/coerce.js';
import { COLUMN_TYPES, type ColumnType } from '../../core/types.js';
import { dateParser, isZone } from '../cast/date-parse.js';
import { numberParser } from '../cast/number-parse.js';
import { defineStep, mapValues } from '../step.js';
import { plainNumber, show } from '../../expr/values.js';
import { parseJson } from '../../core/values/json-parse.js';

const TRUE = ['true', 't', 'yes', 'y', '1', 'on'];
const FALSE = ['false', 'f', 'no', 'n', '0', 'off'];

const typeEnum = z.enum(COLUMN_TYPES);

const castOptions = z.strictObject({
  type: typeEnum.describe('Target column type.'),
  format: z.union([z.string(), z.array(z.string()).min(1)]).optional()
    .describe('date/timestamp: pattern(s) tried in order, e.g. "dd/MM/yyyy HH:mm" (yyyy yy MMMM MMM MM M dd d HH H hh h mm m ss s SSS a EEE XXX Z; \'quoted\' literal text). Default: ISO 8601, then common unambiguous forms.'),
  zone: z.string().refine(isZone, 'an IANA time zone such as Europe/Paris').optional()
    .describe('date/timestamp: IANA zone of values written without an offset (default UTC).'),
  unit: z.enum(['seconds', 'milliseconds']).optional().describe('date/timestamp: numbers are epoch seconds or milliseconds (default: guessed by size).'),
  thousands: z.string().min(1).max(1).optional().describe('Numbers: thousands separator to remove, e.g. "," (spaces are always removed).'),
  decimal: z.string().min(1).max(1).optional().describe('Numbers: decimal separator (default ".").'),
  currency: z.boolean().optional().describe('Numbers: remove currency symbols ($, €, £, …).'),
  true_values: z.array(z.string()).optional().describe(`boolean: texts read as true, case-insensitive (default ${TRUE.join(', ')}).`),
  false_values: z.array(z.string()).optional().describe(`boolean: texts read as false, case-insensitive (default ${FALSE.join(', ')}).`),
  // Not `null`: YAML reads an unquoted null as no value at all.
  on_error: z.enum(['reject', 'set_null']).default('reject').describe('A value that does not fit: `reject` sends the row to the dead-letter queue, `set_null` stores null.'),
});

type CastOptions = z.output<typeof castOptions>;
type Options = Record<string, ColumnType | CastOptions>;

/** Numeric types: the number text a value writes, then the type's canonical form of it. */
function numberConverter(type: ColumnType, num: (v: unknown) => string | undefined, canonical: (v: unknown) => unknown): (v: unknown) => unknown {
  return (v) => {
    const text = num(v);
    if (text === undefined) return FAIL;
    // Integers written as 12.0 or 1e3 are still integers.
    if ((type === 'integer' || type === 'bigint') && !/^[+-]?\d+$/.test(text)) {
      const n = Number(text);
      return Number.isInteger(n) ? canonical(type === 'bigint' ? BigInt(n) : n) : FAIL;
    }
    return canonical(text);
  };
}

/** The converter of one column: the canonical value, or FAIL. */
function converter(o: CastOptions): (v: unknown) => unknown {
  const canonical = valueCoercer(o.type);
  switch (o.type) {
    case 'integer': case 'bigint': case 'decimal': case 'double': {
      const num = numberParser(o);
      // Plain numeric text is most of what a double column reads: its number is the parse itself, taken once.
      if (o.type === 'double' && (o.decimal ?? '.') === '.') {
        const thousands = o.thousands;
        const general = numberConverter(o.type, num, canonical);
        return (v) => {
          if (typeof v === 'string' && (thousands === undefined || !v.includes(thousands))) {
            const n = plainNumber(v);
            if (n !== undefined) return n;
          }
          return general(v);
        };
      }
      return numberConverter(o.type, num, canonical);
    }
    case 'boolean': {
      const yes = new Set((o.true_values ?? TRUE).map((s) => s.toLowerCase()));
      const no = new Set((o.false_values ?? FALSE).map((s) => s.toLowerCase()));
      return (v) => {
        if (typeof v === 'boolean') return v;
        if (typeof v === 'string') {
          if (yes.has(v)) return true;
          if (no.has(v)) return false;
        }
        const s = String(v).trim().toLowerCase();
        return yes.has(s) ? true : no.has(s) ? false : FAIL;
      };
    }
    case 'date': case 'timestamp': {
      const parse = dateParser({ format: typeof o.format === 'string' ? [o.format] : o.format, zone: o.zone, unit: o.unit }, o.type);
      return (v) => parse(v) ?? FAIL;
    }
    case 'json':
      return (v) => {
        if (typeof v !== 'string') return v;
        try {
          return parseJson(v);
        } catch {
          return FAIL;
        }
      };
    case 'text':
      return (v) => (v instanceof Date ? v.toISOString() : typeof v === 'object' ? jsonText(v) : String(v));
    default:
      return canonical;
  }
}

export const castStep = defineStep<Options>({
  kind: 'cast',
  description: 'Convert values to column types, with formats for dates (patterns, IANA zones, epochs), numbers '
    + '(thousands and decimal separators, currency) and booleans (yes/no, on/off, 1/0, t/f). The column\'s type is '
    + 'then declared, not inferred. A value that does not convert sends its row to the dead-letter queue.',
  // The mapping first: when a mapping has a bad `type`, its error (with the path to `type`) is the one reported.
  options: z.record(z.string(), z.union([castOptions, typeEnum]))
    .describe('Column → type, or → { type, format, zone, … } for formats.'),
  compile(mapping) {
    const columns = Object.entries(mapping).map(([name, spec]) => {
      const o = typeof spec === 'string' ? castOptions.parse({ type: spec }) : spec;
      return { name, o, convert: converter(o), owner: {} };
    });
    return {
      apply(frame) {
        for (const { name, o, convert, owner } of columns) {
          mapValues(frame, owner, [name], (v, i) => {
            const out = convert(v);
            if (out !== FAIL) return out;
            if (o.on_error === 'reject') frame.reject(i, `cast ${name}: ${show(v)} is not a valid ${o.type}${o.format ? ` (format ${JSON.stringify(o.format)})` : ''}`);
            return null;
          });
        }
        return frame;
      },
      types(declared) {
        for (const c of columns) declared.set(c.name, c.o.type);
      },
    };
  },
});
