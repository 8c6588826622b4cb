// Canonical decimal text (`[-+]digits[.digits]`) against a DECIMAL(precision, scale): does it fit exactly, and, where
// a stream declares `rounding`, the value rounded to the scale.

/** Why `text` does not fit DECIMAL(width, scale) exactly; undefined when it does. */
export function decimalMisfit(text: string, width: number, scale: number): string | undefined {
  const unsigned = text.charCodeAt(0) === 45 || text.charCodeAt(0) === 43 ? text.slice(1) : text;
  const dot = unsigned.indexOf('.');
  const whole = (dot < 0 ? unsigned : unsigned.slice(0, dot)).replace(/^0+/, '');
  const fraction = dot < 0 ? '' : unsigned.slice(dot + 1).replace(/0+$/, '');
  if (fraction.length > scale) return `${fraction.length} digits after the point, and DECIMAL(${width},${scale}) keeps ${scale}: it would be rounded`;
  if (whole.length > width - scale) return `${whole.length} digits before the point, and DECIMAL(${width},${scale}) holds ${width - scale}`;
  return undefined;
}

export type Rounding = 'half_even' | 'half_up';

/** `text` rounded to `scale` digits after the point (half_even: ties to the even digit; half_up: ties away from zero). */
export function roundDecimal(text: string, scale: number, mode: Rounding): string {
  const negative = text.charCodeAt(0) === 45;
  const unsigned = negative || text.charCodeAt(0) === 43 ? text.slice(1) : text;
  const dot = unsigned.indexOf('.');
  const whole = dot < 0 ? unsigned : unsigned.slice(0, dot);
  const fraction = dot < 0 ? '' : unsigned.slice(dot + 1);
  if (fraction.length <= scale) return text;
  const kept = `${whole || '0'}${fraction.slice(0, scale)}`;
  const rest = fraction.slice(scale);
  const tie = rest[0] === '5' && /^5?0*$/.test(rest);
  const up = rest[0] > '5' || (rest[0] === '5' && (!tie || mode === 'half_up' || Number(kept[kept.length - 1]) % 2 === 1));
  const digits = (BigInt(kept) + (up ? 1n : 0n)).toString().padStart(scale + 1, '0');
  const out = scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return negative && /[1-9]/.test(out) ? `-${out}` : out;
}
