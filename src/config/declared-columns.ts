// A stream's `columns:` as written — a type, or `{ type, pii }` — brought to the one form the rest of Sluice knows:
// `columns` maps a name to its type, and the stream's `pii` list names every tagged column. Done once, at load, so
// that the engine, the DLQ masking (core/pii.ts) and the connectors see a single shape.
import type { StreamConfig } from '../core/connector.js';
import type { DeclaredType } from '../core/types.js';
import { isMapping } from './validate-stream-lists.js';

/** The type of a declared column as written in either form (undefined for what is neither). */
export function typeOf(declared: unknown): string | undefined {
  if (typeof declared === 'string') return declared;
  return isMapping(declared) && typeof declared.type === 'string' ? declared.type : undefined;
}

/** Whether a declared column, as written, carries `pii: true`. */
export const taggedPii = (declared: unknown): boolean => isMapping(declared) && declared.pii === true;

/** In place: each declared column to its type; the tagged ones appended to `pii` (once each, after those listed). */
export function normaliseColumns(stream: StreamConfig): void {
  if (!stream.columns) return;
  const written = stream.columns as Record<string, unknown>;
  const tagged = Object.keys(written).filter((c) => taggedPii(written[c]));
  stream.columns = Object.fromEntries(Object.entries(written).map(([c, d]) => [c, typeOf(d) as DeclaredType]));
  const pii = stream.pii ?? [];
  const more = tagged.filter((c) => !pii.includes(c));
  if (more.length) stream.pii = [...pii, ...more];
}
