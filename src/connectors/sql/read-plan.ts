// How a SQL source reads one stream, decided the same way for every dialect: which columns order the keyset
// (cursor first, then the primary key, declared or found in the catalog), and the stream's column types taken from
// the catalog so exact types (DECIMAL as decimal, BIGINT as bigint) are contracts, not guesses from values.
import type { StreamConfig } from '../../core/connector.js';
import { RunError } from '../../core/errors.js';
import type { ColumnType } from '../../core/types.js';

export interface CatalogColumn {
  name: string;
  type: ColumnType;
}

export interface ReadPlan {
  /** Keyset columns in order; empty: the table has no key and is read in one streamed pass. */
  keys: string[];
  hasCursor: boolean;
  types: Map<string, ColumnType>;
}

/** The catalog's column types, which the engine takes as declared (under what the user declared) via Source.columns(). */
export function catalogTypes(columns: readonly CatalogColumn[]): Record<string, ColumnType> {
  return Object.fromEntries(columns.map((c) => [c.name, c.type]));
}

export function planRead(stream: StreamConfig, columns: readonly CatalogColumn[], catalogKey: readonly string[]): ReadPlan {
  const names = new Set(columns.map((c) => c.name));
  const pk = stream.primary_key.length ? stream.primary_key : [...catalogKey];
  for (const k of [...pk, ...(stream.cursor ? [stream.cursor] : [])]) {
    if (!names.has(k)) {
      throw new RunError(`stream ${stream.name}: column "${k}" is not among the columns read (${[...names].join(', ')})`, stream.name);
    }
  }
  if (stream.cursor && pk.length === 0) {
    throw new RunError(`stream ${stream.name}: an incremental read by cursor "${stream.cursor}" needs a primary key to `
      + 'break ties between rows sharing a cursor value; set primary_key (the table declares none)', stream.name);
  }
  const keys = stream.cursor ? [stream.cursor, ...pk.filter((k) => k !== stream.cursor)] : [...pk];
  return { keys, hasCursor: !!stream.cursor, types: new Map(columns.map((c) => [c.name, c.type])) };
}
