// Character tests for the text steps' hot loops: a look at the ends (or the characters) of a value decides whether
// the regex or the trimming copy is needed at all, which for clean data it mostly is not.

/** Whether a UTF-16 code unit is whitespace as JavaScript's \s and trim() define it. */
export function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a)
    || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** s.trim(), skipping the call when neither end is whitespace. */
export function trimText(s: string): string {
  const n = s.length;
  return n && (isSpace(s.charCodeAt(0)) || isSpace(s.charCodeAt(n - 1))) ? s.trim() : s;
}

/** Whether collapsing whitespace changes `s`: whitespace at an end, two in a row, or any but a plain space. */
export function needsCollapse(s: string): boolean {
  const n = s.length;
  let prev = true; // a space at the start needs trimming
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 32) {
      if (prev) return true;
      prev = true;
    } else if (c < 33 ? isSpace(c) : c >= 0xa0 && isSpace(c)) {
      return true;
    } else {
      prev = false;
    }
  }
  return n > 0 && prev;
}

/** Whether `s` holds a character outside the Basic Multilingual Plane (a surrogate pair). */
export function hasAstral(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return true;
  }
  return false;
}
