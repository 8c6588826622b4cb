// A Pratt parser for the expression language of `derive` and `filter`. Precedence, lowest first:
//   or · and · not · comparison (= == != <> < <= > >=, [not] in (…), is [not] null) · || · + - · * / % · unary -
// Keywords are case-insensitive. Column names are bare (`total`, `party.name.en` for nested fields) or quoted
// ("Release Date", `Release Date`); strings use single quotes.
import { ExprError, tokenize, type Token } from './tokenize.js';

export type Node =
  | { k: 'lit'; v: string | number | boolean | null }
  | { k: 'col'; name: string; path: string[]; col: number }
  | { k: 'neg'; a: Node; col: number }
  | { k: 'not'; a: Node }
  | { k: 'bin'; op: string; a: Node; b: Node; col: number }
  | { k: 'in'; a: Node; list: Node[]; neg: boolean; col: number }
  | { k: 'isnull'; a: Node; neg: boolean }
  | { k: 'call'; name: string; args: Node[]; col: number };

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'null', 'true', 'false']);
const COMPARISON = new Set(['=', '==', '!=', '<>', '<', '<=', '>', '>=']);

/** Binding power of an infix token; 0 when the token does not continue an expression. */
function infixPower(t: Token, next: Token): number {
  const w = t.type === 'ident' ? t.text.toLowerCase() : '';
  if (w === 'or') return 10;
  if (w === 'and') return 20;
  if (w === 'in' || w === 'is' || (w === 'not' && next.type === 'ident' && next.text.toLowerCase() === 'in')) return 40;
  if (t.type !== 'op') return 0;
  if (COMPARISON.has(t.text)) return 40;
  if (t.text === '||') return 50;
  if (t.text === '+' || t.text === '-') return 60;
  return 70; // * / %
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(offset = 0): Token {
    return this.tokens[Math.min(this.i + offset, this.tokens.length - 1)];
  }

  private next(): Token {
    return this.tokens[this.i++];
  }

  private word(t: Token): string {
    return t.type === 'ident' ? t.text.toLowerCase() : '';
  }

  private expect(type: Token['type'], what: string): Token {
    const t = this.peek();
    if (t.type !== type) throw unexpected(t, what);
    return this.next();
  }

  parse(): Node {
    const node = this.expr(0);
    const t = this.peek();
    if (t.type !== 'eof') throw unexpected(t, 'an operator or the end of the expression');
    return node;
  }

  expr(minPower: number): Node {
    let left = this.prefix();
    while (true) {
      const t = this.peek();
      const power = infixPower(t, this.peek(1));
      if (power <= minPower) return left;
      left = this.infix(left, power);
    }
  }

  private prefix(): Node {
    const t = this.next();
    switch (t.type) {
      case 'number':
        return { k: 'lit', v: Number(t.text) };
      case 'string':
        return { k: 'lit', v: t.text };
      case 'column':
        return { k: 'col', name: t.text, path: [], col: t.col };
      case '(': {
        const inner = this.expr(0);
        this.expect(')', '")"');
        return inner;
      }
      case 'op':
        if (t.text === '-') return { k: 'neg', a: this.expr(75), col: t.col };
        if (t.text === '+') return this.expr(75);
        throw unexpected(t, 'a value, a column or a function');
      case 'ident': {
        const w = t.text.toLowerCase();
        if (w === 'null') return { k: 'lit', v: null };
        if (w === 'true' || w === 'false') return { k: 'lit', v: w === 'true' };
        if (w === 'not') return { k: 'not', a: this.expr(30) };
        if (KEYWORDS.has(w)) throw unexpected(t, 'a value, a column or a function');
        if (this.peek().type === '(' && !t.text.includes('.')) return this.call(t);
        const [name, ...path] = t.text.split('.');
        return { k: 'col', name, path, col: t.col };
      }
      default:
        throw unexpected(t, 'a value, a column or a function');
    }
  }

  private call(name: Token): Node {
    this.next(); // (
    const args: Node[] = [];
    if (this.peek().type !== ')') {
      do args.push(this.expr(0));
      while (this.peek().type === ',' && this.next());
    }
    this.expect(')', '"," or ")"');
    return { k: 'call', name: name.text.toLowerCase(), args, col: name.col };
  }

  private infix(left: Node, power: number): Node {
    const t = this.next();
    const w = this.word(t);
    if (w === 'and' || w === 'or') return { k: 'bin', op: w, a: left, b: this.expr(power), col: t.col };
    if (w === 'is') {
      const neg = this.word(this.peek()) === 'not';
      if (neg) this.next();
      const n = this.next();
      if (this.word(n) !== 'null') throw unexpected(n, '"null" after "is"');
      return { k: 'isnull', a: left, neg };
    }
    if (w === 'in' || w === 'not') {
      if (w === 'not') this.next(); // in
      this.expect('(', '"(" to start the list after "in"');
      const list: Node[] = [];
      do list.push(this.expr(0));
      while (this.peek().type === ',' && this.next());
      this.expect(')', '"," or ")"');
      return { k: 'in', a: left, list, neg: w === 'not', col: t.col };
    }
    // Comparisons do not chain (`a < b < c` is an error, as in SQL), everything else is left-associative.
    const right = this.expr(power);
    const node: Node = { k: 'bin', op: t.text === '==' ? '=' : t.text === '<>' ? '!=' : t.text, a: left, b: right, col: t.col };
    if (COMPARISON.has(t.text) && infixPower(this.peek(), this.peek(1)) === 40) {
      throw unexpected(this.peek(), 'no second comparison (combine comparisons with "and")');
    }
    return node;
  }
}

function unexpected(t: Token, expected: string): ExprError {
  const got = t.type === 'eof' ? 'end of expression' : t.type === 'string' ? `'${t.text}'` : `"${t.text}"`;
  return new ExprError(`unexpected ${got}, expected ${expected}`, t.col);
}

/** Parse expression text into a tree; throws ExprError naming the column of the first bad token. */
export function parseExpr(src: string): Node {
  return new Parser(tokenize(src)).parse();
}
