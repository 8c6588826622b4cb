// Expression tree → a tree of closures, built once per stream (and per distinct column layout): evaluating a row is
// a few function calls, no parsing, no lookups by name. Config text is never handed to eval or new Function; a
// name in an expression can only ever read a column of the row (an own property), so `constructor` or
// `__proto__` are just missing columns (null).
import { FUNCTIONS, SPECIAL_FUNCTIONS } from './functions.js';
import { parseExpr, type Node } from './parse.js';
import { ExprError } from './tokenize.js';
import { compareValues, equalValues, show, toBool, toNumber, toText } from './values.js';

/** Reads one value of a row (array or object: the resolver decides). */
export type Getter = (row: any) => unknown;
export type Evaluator = (row: any) => unknown;
/** Binds a column name to a getter for the row form at hand. */
export type Resolver = (name: string) => Getter;

/**
 * Parsed JSON texts, by text. JSON columns of files repeat a lot (attribute bags, small enums), and the parsed
 * values are only ever read, so they can be shared; the cache is simply emptied when full.
 */
const parsedJson = new Map<string, unknown>();
const NOT_JSON = Symbol('not-json');

function parseJson(text: string): unknown {
  let v = parsedJson.get(text);
  if (v === undefined) {
    try {
      v = JSON.parse(text);
    } catch {
      v = NOT_JSON;
    }
    if (text.length <= 256) {
      if (parsedJson.size >= 512) parsedJson.clear();
      parsedJson.set(text, v);
    }
  }
  return v === NOT_JSON ? null : v;
}

/** A nested field of a value by path (`a.b.0.c`): own properties of plain objects and array indexes only. */
export function getPath(value: unknown, path: readonly string[]): unknown {
  let v = value;
  let shared = false;
  for (const seg of path) {
    if (v === null || v === undefined) return null;
    if (typeof v === 'string') {
      const c = v.charCodeAt(0);
      // A JSON column read from text (a CSV cell, a json column coerced to text) is navigable too.
      if (c !== 123 /* { */ && c !== 91 /* [ */) return null;
      v = parseJson(v);
      if (v === null) return null;
      shared = true;
    }
    if (Array.isArray(v)) {
      if (!/^\d+$/.test(seg)) return null;
      v = v[Number(seg)];
    } else if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype || (typeof v === 'object' && Object.getPrototypeOf(v) === null)) {
      v = Object.hasOwn(v as object, seg) ? (v as Record<string, unknown>)[seg] : null;
    } else {
      return null;
    }
  }
  if (v === undefined) return null;
  // A part of a cached parse goes out as a copy: a user function may change what it is given.
  return shared && typeof v === 'object' && v !== null ? structuredClone(v) : v;
}

/** Values of the run an expression is evaluated in (`run_id()`); absent when checking text before a run. */
export interface RunVars {
  run_id?: string;
}

export interface Expression {
  text: string;
  /** Columns the expression reads (the first segment of a path). */
  columns: string[];
  /** A closure over rows whose columns `resolve` knows how to read. */
  bind(resolve: Resolver): Evaluator;
}

// Numbers on both sides (cast columns, literals, derived values) are the common case of arithmetic and comparisons:
// each operator's closure tests for it inline and leaves every other pair to the general path, which gives the same
// results (a comparison is still the sign of x - y, as compareValues computes it).

function arith(op: string, col: number, a: Evaluator, b: Evaluator): Evaluator {
  const num = (v: unknown): number | null => {
    if (typeof v === 'number') return v;
    try {
      return toNumber(v);
    } catch (e) {
      throw e instanceof ExprError && e.col === undefined ? new ExprError(`operator "${op}" ${e.message}`, col) : e;
    }
  };
  // Evaluated in the order of the general path: the left value is converted (and may fail) before the right one is read.
  const general = (x0: unknown, r: unknown, y0: unknown, read: boolean): unknown => {
    const x = num(x0);
    const y = num(read ? y0 : b(r));
    if (x === null || y === null) return null;
    switch (op) {
      case '+': return x + y;
      case '-': return x - y;
      case '*': return x * y;
      default:
        if (y === 0) throw new ExprError('division by zero', col);
        return op === '/' ? x / y : x % y;
    }
  };
  switch (op) {
    case '+': return (r) => {
      const x = a(r);
      if (typeof x !== 'number') return general(x, r, undefined, false);
      const y = b(r);
      return typeof y === 'number' ? x + y : general(x, r, y, true);
    };
    case '-': return (r) => {
      const x = a(r);
      if (typeof x !== 'number') return general(x, r, undefined, false);
      const y = b(r);
      return typeof y === 'number' ? x - y : general(x, r, y, true);
    };
    case '*': return (r) => {
      const x = a(r);
      if (typeof x !== 'number') return general(x, r, undefined, false);
      const y = b(r);
      return typeof y === 'number' ? x * y : general(x, r, y, true);
    };
    case '/': return (r) => {
      const x = a(r);
      if (typeof x !== 'number') return general(x, r, undefined, false);
      const y = b(r);
      return typeof y === 'number' && y !== 0 ? x / y : general(x, r, y, true);
    };
    default: return (r) => {
      const x = a(r);
      if (typeof x !== 'number') return general(x, r, undefined, false);
      const y = b(r);
      return typeof y === 'number' && y !== 0 ? x % y : general(x, r, y, true);
    };
  }
}

function comparison(op: string, col: number, a: Evaluator, b: Evaluator): Evaluator {
  if (op === '=' || op === '!=') {
    const want = op === '=';
    return (r) => {
      const x = a(r);
      const y = b(r);
      if (x === null || x === undefined || y === null || y === undefined) return null;
      return equalValues(x, y) === want;
    };
  }
  const test = op === '<' ? (c: number) => c < 0 : op === '<=' ? (c: number) => c <= 0 : op === '>' ? (c: number) => c > 0 : (c: number) => c >= 0;
  const general = (x: unknown, y: unknown): boolean | null => {
    if (x === null || x === undefined || y === null || y === undefined) return null;
    const c = compareValues(x, y);
    if (c === undefined) throw new ExprError(`cannot compare ${show(x)} with ${show(y)}`, col);
    return test(c);
  };
  switch (op) {
    case '<': return (r) => { const x = a(r); const y = b(r); return typeof x === 'number' && typeof y === 'number' ? x - y < 0 : general(x, y); };
    case '<=': return (r) => { const x = a(r); const y = b(r); return typeof x === 'number' && typeof y === 'number' ? x - y <= 0 : general(x, y); };
    case '>': return (r) => { const x = a(r); const y = b(r); return typeof x === 'number' && typeof y === 'number' ? x - y > 0 : general(x, y); };
    default: return (r) => { const x = a(r); const y = b(r); return typeof x === 'number' && typeof y === 'number' ? x - y >= 0 : general(x, y); };
  }
}

function build(node: Node, resolve: Resolver, vars: RunVars): Evaluator {
  switch (node.k) {
    case 'lit': {
      const v = node.v;
      return () => v;
    }
    case 'col': {
      const get = resolve(node.name);
      if (!node.path.length) return get;
      const path = node.path;
      return (r) => getPath(get(r), path);
    }
    case 'neg': {
      const a = build(node.a, resolve, vars);
      return (r) => { const x = toNumber(a(r)); return x === null ? null : -x; };
    }
    case 'not': {
      const a = build(node.a, resolve, vars);
      return (r) => { const x = toBool(a(r)); return x === null ? null : !x; };
    }
    case 'isnull': {
      const a = build(node.a, resolve, vars);
      const neg = node.neg;
      return (r) => { const v = a(r); return (v === null || v === undefined) !== neg; };
    }
    case 'in': {
      const a = build(node.a, resolve, vars);
      const list = node.list.map((n) => build(n, resolve, vars));
      const neg = node.neg;
      return (r) => {
        const v = a(r);
        if (v === null || v === undefined) return null;
        for (const item of list) if (equalValues(v, item(r))) return !neg;
        return neg;
      };
    }
    case 'bin': {
      const a = build(node.a, resolve, vars);
      const b = build(node.b, resolve, vars);
      const { op, col } = node;
      if (op === 'and') {
        return (r) => {
          const x = toBool(a(r));
          if (x === false) return false;
          const y = toBool(b(r));
          return y === false ? false : x === null || y === null ? null : true;
        };
      }
      if (op === 'or') {
        return (r) => {
          const x = toBool(a(r));
          if (x === true) return true;
          const y = toBool(b(r));
          return y === true ? true : x === null || y === null ? null : false;
        };
      }
      if (op === '||') {
        return (r) => { const x = toText(a(r)); const y = toText(b(r)); return x === null || y === null ? null : x + y; };
      }
      if (['+', '-', '*', '/', '%'].includes(op)) return arith(op, col, a, b);
      return comparison(op, col, a, b);
    }
    case 'call': {
      const args = node.args.map((n) => build(n, resolve, vars));
      if (node.name === 'if') {
        const [c, t, e] = args;
        return (r) => (toBool(c(r)) === true ? t(r) : e(r));
      }
      if (node.name === 'run_id') {
        const id = vars.run_id ?? null;
        return () => id;
      }
      if (node.name === 'coalesce') {
        return (r) => {
          for (const a of args) {
            const v = a(r);
            if (v !== null && v !== undefined) return v;
          }
          return null;
        };
      }
      const { fn } = FUNCTIONS[node.name];
      const name = node.name;
      const col = node.col;
      // One argument array per call site, refilled per row: an expression cannot re-enter its own call while the
      // arguments are evaluated, and no function keeps the array.
      const values = new Array<unknown>(args.length);
      return (r) => {
        for (let k = 0; k < args.length; k++) values[k] = args[k](r);
        try {
          return fn(values);
        } catch (e) {
          if (e instanceof ExprError && e.col === undefined) throw new ExprError(`${name}(): ${e.message}`, col);
          throw e;
        }
      };
    }
  }
}

/** Check names and argument counts once, before any row: a typo is a config error, not a million row errors. */
function check(node: Node, columns: Set<string>): void {
  switch (node.k) {
    case 'col':
      columns.add(node.name);
      return;
    case 'neg': case 'not': case 'isnull':
      check(node.a, columns);
      return;
    case 'in':
      check(node.a, columns);
      node.list.forEach((n) => check(n, columns));
      return;
    case 'bin':
      check(node.a, columns);
      check(node.b, columns);
      return;
    case 'call': {
      const def = Object.hasOwn(FUNCTIONS, node.name) ? FUNCTIONS[node.name] : Object.hasOwn(SPECIAL_FUNCTIONS, node.name) ? SPECIAL_FUNCTIONS[node.name] : undefined;
      if (!def) {
        const known = [...Object.keys(FUNCTIONS), ...Object.keys(SPECIAL_FUNCTIONS)].sort();
        throw new ExprError(`unknown function "${node.name}" (known: ${known.join(', ')})`, node.col);
      }
      if (node.args.length < def.min || node.args.length > def.max) {
        const want = def.min === def.max ? `${def.min}` : def.max >= 64 ? `at least ${def.min}` : `${def.min} to ${def.max}`;
        throw new ExprError(`${node.name}() takes ${want} argument${want === '1' ? '' : 's'}, got ${node.args.length}`, node.col);
      }
      node.args.forEach((n) => check(n, columns));
      return;
    }
    default:
  }
}

/** Parse and check an expression; throws ExprError (with the column of the bad token) for bad text. */
export function compileExpr(text: string, vars: RunVars = {}): Expression {
  const node = parseExpr(text);
  const columns = new Set<string>();
  check(node, columns);
  return { text, columns: [...columns], bind: (resolve) => build(node, resolve, vars) };
}

/** Getter by name for object rows: own properties only, missing → null. */
export const objectResolver: Resolver = (name) => (row: Record<string, unknown>) => (Object.hasOwn(row, name) ? row[name] ?? null : null);

/** Getter by name for array rows aligned with `names` (first occurrence wins); missing → null. */
export function arrayResolver(index: ReadonlyMap<string, number>): Resolver {
  return (name) => {
    const i = index.get(name);
    if (i === undefined) return () => null;
    return (row: unknown[]) => row[i] ?? null;
  };
}
