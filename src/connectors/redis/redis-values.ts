// A row as Redis stores it, from the canonical values of core/values/coerce.ts.
//   hash   field → the value as text: numbers and bigints in digits, booleans true/false, dates and timestamps in
//          ISO-8601, decimals as their exact text, json as JSON text, binary as base64, arrays as JSON arrays. A NULL
//          column is no field, so a reader tells NULL from the empty string.
//   json   one object, the files destination's NDJSON values (json embedded, decimals as strings, binary as base64),
//          except that bigints are strings too: JSON.parse rounds a number past 2^53, and apps read these in JS.
import type { ColumnType, TypedColumn } from '../../core/types.js';
import { jsonText } from '../../core/values/array-text.js';
import { bigintText, valueCoercer } from '../../core/values/coerce.js';
import { ndjsonValue } from '../files/ndjson-writer.js';
import type { RedisFormat } from './redis-spec.js';

const asText = valueCoercer('text');

/** A non-null value as a hash field. */
export const fieldText = (v: unknown): string => asText(v) as string;

const bigintString = (v: unknown): unknown => (v === null ? null : bigintText(v as number | bigint));

/** A value as a member of the row's JSON object. */
function jsonMember(type: ColumnType): (v: unknown) => string {
  if (type === 'bigint') return (v) => (v === null || v === undefined ? 'null' : JSON.stringify(bigintText(v as number | bigint)));
  if (type === 'bigint[]') return (v) => (v === null || v === undefined ? 'null' : jsonText((v as unknown[]).map(bigintString)));
  return (v) => ndjsonValue(v, type);
}

/** Encodes the rows of one schema: the arguments after the key of an HSET, or the text of a SET. */
export class RowEncoder {
  /** The stored columns: their places in a row, names, JSON member encoders and `"name":` prefixes. */
  private readonly indexes: number[];
  private readonly names: string[];
  private readonly members: ((v: unknown) => string)[];
  private readonly keys: string[];

  /** `skip`: a column that steers the load (the delete marker) and is not stored. */
  constructor(private readonly format: RedisFormat, columns: readonly TypedColumn[], skip?: number) {
    const kept = columns.map((c, i) => ({ c, i })).filter(({ i }) => i !== skip);
    this.indexes = kept.map(({ i }) => i);
    this.names = kept.map(({ c }) => c.name);
    this.members = kept.map(({ c }) => jsonMember(c.type));
    this.keys = this.names.map((n) => `${JSON.stringify(n)}:`);
  }

  /** HSET's field/value arguments; never empty, since the key columns are never NULL. */
  fields(row: readonly unknown[]): string[] {
    const out: string[] = [];
    for (let j = 0; j < this.indexes.length; j++) {
      const v = row[this.indexes[j]];
      if (v !== null && v !== undefined) out.push(this.names[j], fieldText(v));
    }
    return out;
  }

  json(row: readonly unknown[]): string {
    let out = '{';
    for (let j = 0; j < this.indexes.length; j++) out += (j ? ',' : '') + this.keys[j] + this.members[j](row[this.indexes[j]]);
    return `${out}}`;
  }

  get isHash(): boolean {
    return this.format === 'hash';
  }
}
