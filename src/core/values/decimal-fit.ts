// Whether canonical decimal text fits a fixed DECIMAL(width, scale) exactly. Destinations whose decimal type is fixed
// (DuckDB's and MySQL's DECIMAL(38,9)) refuse a value that does not, rather than round it or fail the whole load.
import { elementType, type ColumnType } from '../types.js';

/** Why `text` (`[-+]digits[.digits]`) does not fit DECIMAL(width, scale) exactly; undefined when it does. */
export function decimalMisfit(text: string, width: number, scale: number): string | undefined {
  const unsigned = text.charCodeAt(0) === 45 || text.charCodeAt(0) === 43 ? text.slice(1) : text;
  const dot = unsigned.indexOf('.');
  const whole = (dot < 0 ? unsigned : unsigned.slice(0, dot)).replace(/^0+/, '');
  const fraction = dot < 0 ? '' : unsigned.slice(dot + 1).replace(/0+$/, '');
  if (fraction.length > scale) return `${fraction.length} digits after the point, and DECIMAL(${width},${scale}) keeps ${scale}: it would be rounded`;
  if (whole.length > width - scale) return `${whole.length} digits before the point, and DECIMAL(${width},${scale}) holds ${width - scale}`;
  return undefined;
}

/** A destination's refusal of decimal (and decimal[]) values its DECIMAL(width, scale) columns cannot hold. */
export function decimalRefusal(destination: string, width: number, scale: number) {
  const misfit = (v: unknown): string | undefined => {
    if (typeof v !== 'string') return undefined;
    const why = decimalMisfit(v, width, scale);
    return why && `${destination}'s DECIMAL(${width},${scale}) cannot hold ${v.length > 60 ? `${v.slice(0, 57)}...` : v} exactly (${why}); declare the column \`text\` to keep it as written`;
  };
  return (type: ColumnType): ((value: unknown) => string | undefined) | undefined => {
    if (type === 'decimal') return misfit;
    if (elementType(type) === 'decimal') return (v) => (Array.isArray(v) ? v.map((e) => (e === null ? undefined : misfit(e))).find((w) => w !== undefined) : undefined);
    return undefined;
  };
}
