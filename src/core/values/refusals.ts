// Values a destination cannot store exactly, as `DestinationCapabilities.refuses` checks: the engine dead-letters a
// row holding one, with the reason, instead of letting the load round it, turn it into NULL or fail as a whole.
import { elementType, type ColumnType } from '../types.js';
import { nulFinder } from './nul.js';

/** A check of one value: the reason it cannot be stored, or undefined. */
export type Refusal = (value: unknown) => string | undefined;
/** A destination's refusals per logical type. */
export type Refusals = (type: ColumnType) => Refusal | undefined;

/** Refusals of `scalar` values, applied to the elements of its array type too. */
function forScalar(scalar: ColumnType, refuse: Refusal): Refusals {
  return (type) => {
    if (type === scalar) return refuse;
    if (elementType(type) !== scalar) return undefined;
    return (v) => (Array.isArray(v) ? v.map((e) => (e === null ? undefined : refuse(e))).find((why) => why !== undefined) : undefined);
  };
}

/**
 * NaN (and, with `infinities`, ±Infinity) where the destination's double has none; in arrays, which it writes as JSON,
 * neither (JSON has no such number).
 */
export function nonFiniteRefusal(destination: string, infinities: boolean): Refusals {
  const why = (v: unknown, all: boolean): string | undefined =>
    typeof v === 'number' && (Number.isNaN(v) || (all && !Number.isFinite(v))) ? `${destination} cannot store ${v} in a double column` : undefined;
  const scalar: Refusal = (v) => why(v, infinities);
  const inArray: Refusal = (v) => why(v, true);
  return (type) => (type === 'double' ? scalar : elementType(type) === 'double' ? forScalar('double', inArray)(type) : undefined);
}

/** Text and JSON holding a NUL character (PostgreSQL's text and jsonb). */
export const nulRefusal = (destination: string): Refusals => (type) => {
  const found = nulFinder(type);
  return found && ((v) => (found(v) ? `${destination} text cannot hold the NUL character (U+0000); \`strip_nul: true\` on the stream removes it` : undefined));
};

/** A date or timestamp in year 0000, which PostgreSQL does not have (1 BC comes before 0001). */
export const yearZeroRefusal = (destination: string): Refusals => (type) => {
  const base = elementType(type) ?? type;
  if (base !== 'date' && base !== 'timestamp') return undefined;
  const refuse: Refusal = (v) => (typeof v === 'string' && v.startsWith('0000-') ? `${destination} has no year 0000 (${v.slice(0, 10)})` : undefined);
  return type === base ? refuse : forScalar(base, refuse)(type);
};
