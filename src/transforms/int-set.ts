// A set of safe integers in a typed array (open addressing, linear probing). Deduplicating a million ids in a
// JS Set costs a large hash table the garbage collector walks on every major collection; here the keys sit in one
// Float64Array it never scans, at 8-16 bytes per key.
const EMPTY = NaN;

export class IntSet {
  private table = new Float64Array(1 << 12).fill(EMPTY);
  private mask = (1 << 12) - 1;
  size = 0;

  private static slot(n: number, mask: number): number {
    const lo = n | 0;
    const hi = (n / 4294967296) | 0;
    let h = Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1);
    h ^= h >>> 15;
    return h & mask;
  }

  /** Add `n` (a safe integer); false when it was already there. */
  add(n: number): boolean {
    if (this.size * 2 >= this.table.length) this.grow();
    const t = this.table;
    const mask = this.mask;
    let i = IntSet.slot(n, mask);
    while (true) {
      const v = t[i];
      if (v !== v) {
        t[i] = n;
        this.size++;
        return true;
      }
      if (v === n) return false;
      i = (i + 1) & mask;
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Float64Array(old.length * 2).fill(EMPTY);
    this.mask = this.table.length - 1;
    this.size = 0;
    for (let i = 0; i < old.length; i++) if (old[i] === old[i]) this.add(old[i]);
  }
}

/** The integer a text spells, when it spells one the same way a number prints (`7`, not `007`, `+7` or `7.0`). */
export function intOfText(s: string): number | undefined {
  const n = s.length;
  if (n === 0 || n > 15) return undefined;
  let i = 0;
  let neg = false;
  if (s.charCodeAt(0) === 45 /* - */) {
    if (n === 1) return undefined;
    neg = true;
    i = 1;
  }
  const first = s.charCodeAt(i);
  if (first === 48 /* 0 */) return n === 1 ? 0 : undefined;
  let v = 0;
  for (; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return neg ? -v : v;
}
