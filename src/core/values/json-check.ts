// Is this text one JSON value (RFC 8259, exactly what JSON.parse accepts)? A scan of character codes that builds
// nothing: checking a json column's text with JSON.parse would allocate the whole document only to drop it, once
// per value. Containers are tracked on an explicit stack, so nesting depth costs no recursion.

const OBJECT = 1;
const ARRAY = 2;

const isDigit = (c: number): boolean => c >= 48 && c <= 57;

function skipSpace(s: string, i: number): number {
  while (true) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 10 && c !== 13 && c !== 9) return i;
    i++;
  }
}

const isHex = (c: number): boolean => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** End of the string starting at the quote at `i`, or -1. */
function skipString(s: string, i: number): number {
  const n = s.length;
  let j = i + 1;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === 34) return j + 1;
    if (c < 32) return -1;
    if (c === 92) {
      const e = s.charCodeAt(j + 1);
      if (e === 117 /* u */) {
        if (!(isHex(s.charCodeAt(j + 2)) && isHex(s.charCodeAt(j + 3)) && isHex(s.charCodeAt(j + 4)) && isHex(s.charCodeAt(j + 5)))) return -1;
        j += 6;
        continue;
      }
      // " \ / b f n r t
      if (e !== 34 && e !== 92 && e !== 47 && e !== 98 && e !== 102 && e !== 110 && e !== 114 && e !== 116) return -1;
      j += 2;
      continue;
    }
    j++;
  }
  return -1;
}

/** End of the number starting at `i`, or -1. */
function skipNumber(s: string, i: number): number {
  let j = i;
  if (s.charCodeAt(j) === 45) j++;
  const first = s.charCodeAt(j);
  if (first === 48) j++;
  else if (first >= 49 && first <= 57) while (isDigit(s.charCodeAt(++j)));
  else return -1;
  if (s.charCodeAt(j) === 46) {
    if (!isDigit(s.charCodeAt(++j))) return -1;
    while (isDigit(s.charCodeAt(++j)));
  }
  const e = s.charCodeAt(j);
  if (e === 101 || e === 69) {
    const sign = s.charCodeAt(++j);
    if (sign === 43 || sign === 45) j++;
    if (!isDigit(s.charCodeAt(j))) return -1;
    while (isDigit(s.charCodeAt(++j)));
  }
  return j;
}

/** After `{` or `,` in an object: a key and its colon, returning where the value starts, or -1. */
function skipKey(s: string, i: number): number {
  if (s.charCodeAt(i) !== 34) return -1;
  const j = skipString(s, i);
  if (j < 0) return -1;
  const k = skipSpace(s, j);
  return s.charCodeAt(k) === 58 ? skipSpace(s, k + 1) : -1;
}

export function isJsonText(s: string): boolean {
  const n = s.length;
  const stack: number[] = [];
  let i = skipSpace(s, 0);
  while (true) {
    // A value starts at i.
    const c = s.charCodeAt(i);
    if (c === 123) {
      i = skipSpace(s, i + 1);
      if (s.charCodeAt(i) === 125) i++;
      else {
        stack.push(OBJECT);
        i = skipKey(s, i);
        if (i < 0) return false;
        continue;
      }
    } else if (c === 91) {
      i = skipSpace(s, i + 1);
      if (s.charCodeAt(i) === 93) i++;
      else {
        stack.push(ARRAY);
        continue;
      }
    } else if (c === 34) i = skipString(s, i);
    else if (c === 45 || isDigit(c)) i = skipNumber(s, i);
    else if (c === 116) i = s.startsWith('true', i) ? i + 4 : -1;
    else if (c === 102) i = s.startsWith('false', i) ? i + 5 : -1;
    else if (c === 110) i = s.startsWith('null', i) ? i + 4 : -1;
    else return false;
    if (i < 0) return false;
    // A value ended: close containers until one continues with a comma.
    while (true) {
      i = skipSpace(s, i);
      if (stack.length === 0) return i === n;
      const top = stack[stack.length - 1];
      const d = s.charCodeAt(i);
      if (d === 44) {
        i = skipSpace(s, i + 1);
        if (top === OBJECT) {
          i = skipKey(s, i);
          if (i < 0) return false;
        }
        break;
      }
      if ((top === OBJECT && d === 125) || (top === ARRAY && d === 93)) {
        stack.pop();
        i++;
        continue;
      }
      return false;
    }
  }
}
