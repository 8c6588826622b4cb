// The tokens of the expression language. Every token keeps its 1-based column, so a config error can point at the
// exact character of the expression the parser did not expect.

export type TokenType = 'number' | 'string' | 'ident' | 'column' | 'op' | '(' | ')' | ',' | 'eof';

export interface Token {
  type: TokenType;
  /** Operator text, identifier (lower-cased for keywords by the parser), string contents, number text. */
  text: string;
  /** 1-based column in the expression. */
  col: number;
}

/** A problem in the expression text (compile time) or while evaluating a row (run time). */
export class ExprError extends Error {
  override name = 'ExprError';
  constructor(message: string, readonly col?: number) {
    super(col === undefined ? message : `${message} at column ${col}`);
  }
}

const OPERATORS = ['<=', '>=', '<>', '!=', '==', '||', '=', '<', '>', '+', '-', '*', '/', '%'];
const isDigit = (c: string): boolean => c >= '0' && c <= '9';
const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c);
const isIdentPart = (c: string): boolean => /[A-Za-z0-9_]/.test(c);

/** Quoted text with the closing quote doubled to escape it (SQL style: 'it''s', "a ""b"" c"). */
function quoted(src: string, start: number, quote: string): { text: string; end: number } {
  let text = '';
  let i = start + 1;
  while (i < src.length) {
    if (src[i] === quote) {
      if (src[i + 1] === quote) {
        text += quote;
        i += 2;
        continue;
      }
      return { text, end: i + 1 };
    }
    if (src[i] === '\\' && quote === "'" && i + 1 < src.length) {
      text += src[i + 1];
      i += 2;
      continue;
    }
    text += src[i++];
  }
  throw new ExprError(`unterminated ${quote === "'" ? 'string' : 'quoted column name'}`, start + 1);
}

export function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const col = i + 1;
    if (isDigit(c) || (c === '.' && isDigit(src[i + 1] ?? ''))) {
      const m = /^(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(src.slice(i))!;
      if (isIdentStart(src[i + m[0].length] ?? '')) throw new ExprError(`invalid number "${m[0]}${src[i + m[0].length]}"`, col);
      out.push({ type: 'number', text: m[0], col });
      i += m[0].length;
    } else if (c === "'") {
      const q = quoted(src, i, "'");
      out.push({ type: 'string', text: q.text, col });
      i = q.end;
    } else if (c === '"' || c === '`') {
      const q = quoted(src, i, c);
      out.push({ type: 'column', text: q.text, col });
      i = q.end;
    } else if (isIdentStart(c)) {
      let j = i + 1;
      // Dotted paths (`party.name.en`, `items.0.sku`) are one token: a column followed by nested fields.
      while (j < src.length && (isIdentPart(src[j]) || (src[j] === '.' && isIdentPart(src[j + 1] ?? '')))) j++;
      out.push({ type: 'ident', text: src.slice(i, j), col });
      i = j;
    } else if (c === '(' || c === ')' || c === ',') {
      out.push({ type: c, text: c, col });
      i++;
    } else {
      const op = OPERATORS.find((o) => src.startsWith(o, i));
      if (!op) throw new ExprError(`unexpected character "${c}"`, col);
      out.push({ type: 'op', text: op, col });
      i += op.length;
    }
  }
  out.push({ type: 'eof', text: '', col: src.length + 1 });
  return out;
}
