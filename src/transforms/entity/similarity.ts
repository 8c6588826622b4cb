// Jaro–Winkler similarity of two strings (0: nothing in common, 1: equal). Names are short, so the plain
// O(|a|·|b|) form with two small flag arrays is fast enough: the matcher only scores names that share a token or
// a prefix with each other (./matcher.ts), never all pairs.

/** The Jaro similarity: matching characters within a window, and how many of them are out of order. */
export function jaro(a: string, b: string): number {
  if (a === b) return a.length ? 1 : 0;
  const la = a.length;
  const lb = b.length;
  if (!la || !lb) return 0;
  const window = Math.max(0, (Math.max(la, lb) >> 1) - 1);
  const usedA = new Uint8Array(la);
  const usedB = new Uint8Array(lb);
  let matches = 0;
  for (let i = 0; i < la; i++) {
    const from = Math.max(0, i - window);
    const to = Math.min(lb - 1, i + window);
    for (let j = from; j <= to; j++) {
      if (usedB[j] || a.charCodeAt(i) !== b.charCodeAt(j)) continue;
      usedA[i] = 1;
      usedB[j] = 1;
      matches++;
      break;
    }
  }
  if (!matches) return 0;
  let transposed = 0;
  for (let i = 0, j = 0; i < la; i++) {
    if (!usedA[i]) continue;
    while (!usedB[j]) j++;
    if (a.charCodeAt(i) !== b.charCodeAt(j)) transposed++;
    j++;
  }
  return (matches / la + matches / lb + (matches - transposed / 2) / matches) / 3;
}

/** Jaro–Winkler: Jaro, raised for a common prefix of up to 4 characters (scale 0.1, the usual). */
export function jaroWinkler(a: string, b: string): number {
  const j = jaro(a, b);
  if (j === 0 || j === 1) return j;
  let prefix = 0;
  const most = Math.min(4, a.length, b.length);
  while (prefix < most && a.charCodeAt(prefix) === b.charCodeAt(prefix)) prefix++;
  return j + prefix * 0.1 * (1 - j);
}
