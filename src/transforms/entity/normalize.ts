// Text as entity resolution compares it: the same name or school written two ways becomes one string. Case, accents,
// punctuation and spacing never tell two entities apart (`D'Brickashaw` = `DBrickashaw`, `C.J.` = `CJ`, `Texas A&M` =
// `Texas AM`); generational suffixes are dropped from names (`Jr.`, `II`), since one source writes them and another
// does not; and an alias table maps what remains onto one spelling (`southern california` → `usc`).

const SUFFIXES = new Set(['jr', 'sr', 'ii', 'iii', 'iv', 'v']);
const MARKS = /\p{M}+/gu;
const APOSTROPHES = /['’`.&]/g;
const OTHER = /[^\p{L}\p{N}]+/gu;

/** ASCII words, one space apart: what most names and ids are, and what normalizing leaves as it is but for case. */
const PLAIN = /^[A-Za-z0-9]+(?: [A-Za-z0-9]+)*$/;

/** Lower case, no accents; apostrophes, dots and `&` joined (`d'brickashaw` → `dbrickashaw`, `a&m` → `am`), other punctuation a space. */
export function normalizeText(s: string): string {
  // A million records' names and ids: a decomposition and three replacements each, for text that needs none.
  if (PLAIN.test(s)) return s.toLowerCase();
  return s.normalize('NFKD').replace(MARKS, '').toLowerCase().replace(APOSTROPHES, '').replace(OTHER, ' ').trim();
}

/** A person's name: normalized text without a trailing generational suffix (kept when it is the only word). */
export function normalizeName(s: string): string {
  const words = normalizeText(s).split(' ');
  while (words.length > 1 && SUFFIXES.has(words[words.length - 1])) words.pop();
  return words.join(' ');
}

/** An alias table as given (`{ "Southern California": "USC" }`) keyed and valued by normalized text. */
export function aliasTable(aliases: Record<string, string> | undefined): Map<string, string> {
  const table = new Map<string, string>();
  for (const [from, to] of Object.entries(aliases ?? {})) table.set(normalizeText(from), normalizeText(to));
  return table;
}

/** Normalized text of `v` mapped through `aliases`; null for a null, empty or blank value. */
export function comparable(v: unknown, aliases?: Map<string, string>): string | null {
  if (v === null || v === undefined) return null;
  const text = normalizeText(String(v));
  if (!text) return null;
  return aliases?.get(text) ?? text;
}

/**
 * `comparable` for one column, remembering the values it has seen, up to `limit` of them: blocking and agree columns
 * (years, positions, schools) repeat a few values a million times, and normalizing one costs a Unicode decomposition
 * and three regular expressions. A column of distinct values stops filling the memory at the limit.
 */
export function comparableOf(aliases?: Map<string, string>, limit = 10_000): (v: unknown) => string | null {
  const seen = new Map<string, string | null>();
  return (v) => {
    if (v === null || v === undefined) return null;
    const text = String(v);
    let out = seen.get(text);
    if (out === undefined) {
      out = comparable(text, aliases);
      if (seen.size < limit) seen.set(text, out);
    }
    return out;
  };
}
