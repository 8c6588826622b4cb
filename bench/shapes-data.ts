// The shapes of `npm run bench -- shapes`: each a CSV generator, the PostgreSQL table both loaders write into, and the
// columns Sluice is told. Values are a function of the row number only, so a cached file is the file a rerun would
// write. A merge file holds ids 1..0.95·rows, every tenth with changed values, then 0.05·rows new ids.
import { writeLines } from './write-lines.js';

export interface Shape {
  name: string;
  /** What the shape stresses, for the printed table. */
  about: string;
  header: string;
  /** Column definitions after `id bigint PRIMARY KEY`, for \copy's table and Sluice's alike. */
  ddl: string;
  /** The pipeline's `columns:` (id included). */
  columns: string;
  /** Line `i` of the file (no newline); `changed` gives the row the values a merge updates it with. */
  line: (i: number, changed: boolean) => string;
  merge?: boolean;
}

const T0 = Date.UTC(2024, 0, 1);
const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
/** `YYYY-MM-DD HH:MM:SS` of a millisecond time, in UTC. */
const civil = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
/** Offsets Python's isoformat() writes for zones people live in, the odd ones included. */
const OFFSETS = ['+00:00', '+02:00', '-05:00', '+05:30', '+05:45', '-03:30', '+09:00', '-00:30', '+14:00', '-11:00'];
const offset = (i: number): string => OFFSETS[i % OFFSETS.length];
/** 1–9 fraction digits, varied. */
const fraction = (i: number): string => String(100_000_000 + (i * 7_919) % 900_000_000).slice(0, 1 + (i % 9));

const LOREM = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore '
  + 'magna aliqua. Ut enim ad "minim" veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ea commodo. ';
const LONG = LOREM.repeat(Math.ceil(2000 / LOREM.length)).slice(0, 2000);
/** 80% empty (NULL), the rest 200–2000 characters with commas and quotes, CSV-quoted. */
const longText = (i: number): string => ((i * 7) % 10 < 8 ? '' : `"${LONG.slice(0, 200 + (i * 7_919) % 1_801).replaceAll('"', '""')}"`);

/** Nested objects, arrays, escaped quotes and unicode, CSV-quoted. */
function nestedJson(i: number, changed: boolean): string {
  const json = `{"user":{"id":${i},"name":"user \\"${i % 977}\\"","tags":["a","b\\u00e9",${i % 7}],"address":{"city":"Zürich",`
    + `"geo":{"lat":${(i % 180) - 90}.25,"lon":-${i % 180}.5,"precise":true}}},"items":[{"sku":"x-${i % 101}","qty":${changed ? 3 : 2}},`
    + `{"sku":"y","qty":${i % 5},"dims":[1.5,2,[3,4]]}],"flag":${i % 2 === 0},"none":null,"note":"line\\nbreak"}`;
  return `"${json.replaceAll('"', '""')}"`;
}

const WIDE_TYPES = ['bigint', 'integer', 'decimal', 'text', 'timestamp', 'boolean', 'date', 'double'] as const;
const WIDE_PG: Record<(typeof WIDE_TYPES)[number], string> = {
  bigint: 'bigint', integer: 'int4', decimal: 'numeric', text: 'text', timestamp: 'timestamptz', boolean: 'bool', date: 'date', double: 'float8',
};
const WIDE = Array.from({ length: 63 }, (_, k) => ({ name: `c${k + 1}`, type: WIDE_TYPES[k % WIDE_TYPES.length] }));
function wideValue(type: (typeof WIDE_TYPES)[number], i: number, k: number): string {
  const x = i * 31 + k;
  switch (type) {
    case 'bigint': return String(1_000_000_000_000 + x);
    case 'integer': return String(x % 1_000_000);
    case 'decimal': return `${x % 100_000}.${pad2(x % 100)}`;
    case 'text': return x % 5 === 0 ? '' : `value ${x % 10_007}`;
    case 'timestamp': return new Date(T0 + x * 1000).toISOString();
    case 'boolean': return x % 2 === 0 ? 'true' : 'false';
    case 'date': return new Date(T0 + (x % 3650) * 86_400_000).toISOString().slice(0, 10);
    default: return String((x % 10_000) / 7);
  }
}

export const SHAPES: Shape[] = [
  {
    name: 'z', about: 'the sql bench\'s 8 mixed columns, timestamps with Z', merge: true,
    header: 'id,account,name,amount,created_at,active,attrs,note',
    ddl: 'account bigint, name text, amount numeric, created_at timestamptz, active boolean, attrs jsonb, note text',
    columns: '{ id: bigint, account: bigint, name: text, amount: decimal, created_at: timestamp, active: boolean, attrs: json, note: text }',
    line: (i, changed) => `${i},${1_000_000_000_000 + (i % 50_000)},${changed ? 'renamed' : 'name'} ${i % 10_007},${(i % 100_000) / 100 + (changed ? 1 : 0)},`
      + `${new Date(T0 + i * 1000).toISOString()},${i % 2 === 0},"{""k"":${i % 13}}",${i % 3 === 0 ? '' : `"note ${i % 977}, with a comma"`}`,
  },
  {
    name: 'offsets', about: '±hh:mm (isoformat) and +00 (PostgreSQL output) timestamps, JSON', merge: true,
    header: 'id,account,name,amount,created_at,updated_at,attrs',
    ddl: 'account bigint, name text, amount numeric, created_at timestamptz, updated_at timestamptz, attrs jsonb',
    columns: '{ id: bigint, account: bigint, name: text, amount: decimal, created_at: timestamp, updated_at: timestamp, attrs: json }',
    line: (i, changed) => `${i},${1_000_000_000_000 + (i % 50_000)},name ${i % 10_007},${(i % 100_000) / 100 + (changed ? 1 : 0)},`
      + `${new Date(T0 + i * 1000).toISOString().slice(0, 19)}${offset(i)},${civil(T0 + i * 997 + (changed ? 5000 : 0))}${i % 4 === 0 ? `.${fraction(i).slice(0, 6)}` : ''}+00,`
      + `"{""k"":${i % 13},""v"":""${changed ? 'new' : 'old'}""}"`,
  },
  {
    name: 'no-zone', about: 'timestamps without zone, T and space separated',
    header: 'id,account,name,created_at,updated_at',
    ddl: 'account bigint, name text, created_at timestamptz, updated_at timestamptz',
    columns: '{ id: bigint, account: bigint, name: text, created_at: timestamp, updated_at: timestamp }',
    line: (i) => `${i},${1_000_000_000_000 + (i % 50_000)},name ${i % 10_007},${new Date(T0 + i * 1000).toISOString().slice(0, 19)},${civil(T0 + i * 997)}`,
  },
  {
    name: 'fractions', about: 'fractional seconds of 1–9 digits, with Z and with offsets',
    header: 'id,account,name,created_at,updated_at',
    ddl: 'account bigint, name text, created_at timestamptz, updated_at timestamptz',
    columns: '{ id: bigint, account: bigint, name: text, created_at: timestamp, updated_at: timestamp }',
    line: (i) => `${i},${1_000_000_000_000 + (i % 50_000)},name ${i % 10_007},${new Date(T0 + i * 1000).toISOString().slice(0, 19)}.${fraction(i)}Z,`
      + `${new Date(T0 + i * 997).toISOString().slice(0, 19)}.${fraction(i + 4)}${offset(i)}`,
  },
  {
    name: 'dates', about: 'date columns',
    header: 'id,account,name,day,due',
    ddl: 'account bigint, name text, day date, due date',
    columns: '{ id: bigint, account: bigint, name: text, day: date, due: date }',
    line: (i) => `${i},${1_000_000_000_000 + (i % 50_000)},name ${i % 10_007},${new Date(T0 + (i % 3650) * 86_400_000).toISOString().slice(0, 10)},`
      + `${new Date(T0 - (i % 40_000) * 86_400_000).toISOString().slice(0, 10)}`,
  },
  {
    name: 'existing', about: 'an existing table: int2, int4, numeric(12,2), varchar(64), timestamp',
    header: 'id,qty,count,price,code,seen_at,name',
    ddl: 'qty int2, count int4, price numeric(12,2), code varchar(64), seen_at timestamp, name text',
    columns: '{ id: bigint, qty: integer, count: integer, price: decimal, code: text, seen_at: timestamp, name: text }',
    line: (i) => `${i},${(i % 60_000) - 30_000},${i * 7 % 2_000_000_000},${(i % 10_000_000) / 100},code-${(i * 13) % 100_003}-${i % 7},`
      + `${civil(T0 + i * 1000)},name ${i % 10_007}`,
  },
  {
    name: 'json', about: 'nested JSON objects in quoted fields (levels, arrays, escaped quotes)',
    header: 'id,account,doc,note',
    ddl: 'account bigint, doc jsonb, note text',
    columns: '{ id: bigint, account: bigint, doc: json, note: text }',
    line: (i, changed) => `${i},${1_000_000_000_000 + (i % 50_000)},${nestedJson(i, changed)},note ${i % 977}`,
  },
  {
    name: 'sparse-long', about: 'NULL-heavy long text: 80% empty, others 200–2000 characters',
    header: 'id,account,title,body,summary',
    ddl: 'account bigint, title text, body text, summary text',
    columns: '{ id: bigint, account: bigint, title: text, body: text, summary: text }',
    line: (i) => `${i},${1_000_000_000_000 + (i % 50_000)},${i % 5 === 0 ? `title ${i % 977}` : ''},${longText(i)},${i % 10 < 8 ? '' : `summary ${i}`}`,
  },
  {
    name: 'wide', about: '64 columns of 8 types',
    header: `id,${WIDE.map((c) => c.name).join(',')}`,
    ddl: WIDE.map((c) => `${c.name} ${WIDE_PG[c.type]}`).join(', '),
    columns: `{ id: bigint, ${WIDE.map((c) => `${c.name}: ${c.type}`).join(', ')} }`,
    line: (i) => `${i},${WIDE.map((c, k) => wideValue(c.type, i, k)).join(',')}`,
  },
];

/** Write the shape's file (`merge`: the merge file) unless it is there already. */
export async function generateShape(shape: Shape, file: string, rows: number, merge = false): Promise<void> {
  const kept = Math.round(rows * 0.95);
  await writeLines(file, shape.header, rows, (n) => (merge && n > kept ? shape.line(rows + (n - kept), false) : shape.line(n, merge && n % 10 === 0)));
}
