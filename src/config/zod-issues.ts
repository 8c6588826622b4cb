// Zod issues → config issues a person can act on: "expected integer, got string", "unknown key" with the valid
// keys and the nearest one, enum values with a suggestion.
import type { z } from 'zod';
import { nearest } from './nearest.js';
import type { KeyPath } from './locate.js';

export interface ConfigIssue {
  path: KeyPath;
  message: string;
  expected?: string;
  /** Hint text, e.g. "did you mean `write`?" */
  suggestion?: string;
  /** Point at the key rather than its value (unknown keys). */
  atKey?: boolean;
  /** Zod's expected type for invalid_type issues: an interpolated string may be converted to it. */
  expectedType?: string;
}

const TYPE_NAMES: Record<string, string> = {
  int: 'integer', number: 'number', string: 'string', boolean: 'boolean', array: 'list', object: 'mapping',
  record: 'mapping', map: 'mapping', bigint: 'integer', null: 'null',
};
const typeName = (t: string): string => TYPE_NAMES[t] ?? t;

/** What a YAML value is, in the words of the error messages. */
export function describeType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'object') return 'mapping';
  return typeof v;
}

const show = (v: unknown): string => {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return `\`${s.length > 60 ? `${s.slice(0, 57)}...` : s}\``;
};

export function valueAt(data: unknown, path: KeyPath): unknown {
  let v = data;
  for (const seg of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string | number, unknown>)[seg];
  }
  return v;
}

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; element?: z.ZodType; valueType?: z.ZodType; options?: z.ZodType[]; getter?: () => z.ZodType };
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** Strip wrappers (optional, default, pipe, …) down to the schema that decides the shape. */
export function unwrap(schema: z.ZodType): z.ZodType {
  let s = schema;
  for (let i = 0; i < 20; i++) {
    const d = defOf(s);
    if (d.innerType) s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else if (d.type === 'lazy' && d.getter) s = d.getter();
    else break;
  }
  return s;
}

const shapeOf = (s: z.ZodType): Record<string, z.ZodType> | undefined => {
  const u = unwrap(s);
  return defOf(u).type === 'object' ? (u as z.ZodObject<any>).shape : undefined;
};

/** The schema at `path` inside `schema`, following objects, arrays, records and unions of objects. */
function schemaAt(schema: z.ZodType, path: KeyPath): z.ZodType | undefined {
  let s: z.ZodType | undefined = schema;
  for (const seg of path) {
    if (!s) return undefined;
    const u = unwrap(s);
    const d = defOf(u);
    if (d.type === 'object') s = (u as z.ZodObject<any>).shape[seg];
    else if (d.type === 'array') s = d.element;
    else if (d.type === 'record') s = d.valueType;
    else if (d.type === 'union') s = d.options?.map((o) => shapeOf(o)?.[seg]).find(Boolean);
    else return undefined;
  }
  return s;
}

/** Keys allowed in the mapping at `path`, in schema order. */
export const keysAt = (schema: z.ZodType, path: KeyPath): string[] => {
  const s = schemaAt(schema, path);
  return s ? Object.keys(shapeOf(s) ?? {}) : [];
};

type AnyIssue = z.core.$ZodIssue;

/** z.int() and z.number().int() both report "expected number"; the schema knows it wants an integer. */
const isInteger = (s: z.ZodType | undefined): boolean => {
  if (!s) return false;
  const def = (unwrap(s) as unknown as { _zod: { def: { format?: string; checks?: { _zod: { def: { format?: string } } }[] } } })._zod.def;
  const formats = [def.format, ...(def.checks ?? []).map((c) => c._zod.def.format)];
  return formats.some((f) => typeof f === 'string' && /int/.test(f));
};

/**
 * Map zod issues of `schema.safeParse(data)` to config issues; `prefix` is where `data` sits in the file.
 * Unknown keys become one issue each, pointing at the key.
 */
export function mapIssues(issues: readonly AnyIssue[], schema: z.ZodType, data: unknown, prefix: KeyPath = []): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) out.push(...mapIssue(issue, schema, data, prefix));
  return out;
}

function mapIssue(issue: AnyIssue, schema: z.ZodType, data: unknown, prefix: KeyPath): ConfigIssue[] {
  const rel = issue.path as (string | number)[];
  const path = [...prefix, ...rel];
  const value = valueAt(data, rel);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const valid = keysAt(schema, rel);
      return issue.keys.map((key) => {
        const near = nearest(key, valid);
        return {
          path: [...path, key],
          atKey: true,
          message: `unknown key (valid keys here: ${valid.join(', ')})`,
          expected: `one of: ${valid.join(', ')}`,
          suggestion: near ? `did you mean \`${near}\`?` : undefined,
        };
      });
    }
    case 'invalid_type': {
      const expected = isInteger(schemaAt(schema, rel)) ? 'integer' : typeName(issue.expected);
      if (value === undefined) {
        return [{ path, message: `required key \`${String(rel[rel.length - 1] ?? '')}\` is missing (expected ${expected})`, expected }];
      }
      return [{ path, message: `expected ${expected}, got ${describeType(value)}`, expected, expectedType: issue.expected }];
    }
    case 'invalid_value': {
      const values = issue.values.map((v) => String(v));
      const near = typeof value === 'string' ? nearest(value, values) : undefined;
      const expected = values.length === 1 ? show(values[0]) : `one of ${values.map(show).join(', ')}`;
      return [{ path, message: `expected ${expected}, got ${show(value)}`, expected, suggestion: near ? `did you mean \`${near}\`?` : undefined }];
    }
    case 'too_small':
    case 'too_big': {
      const bound = issue.code === 'too_small' ? issue.minimum : issue.maximum;
      const word = issue.code === 'too_small' ? 'at least' : 'at most';
      const exact = issue.inclusive !== false;
      let expected: string;
      if (issue.origin === 'array' || issue.origin === 'set') expected = `${word} ${String(bound)} item${Number(bound) === 1 ? '' : 's'}`;
      else if (issue.origin === 'string') expected = `${word} ${String(bound)} characters`;
      else expected = exact ? `${word} ${String(bound)}` : `${issue.code === 'too_small' ? 'more' : 'less'} than ${String(bound)}`;
      const got = Array.isArray(value) ? (value.length === 0 ? 'an empty list' : `${value.length} items`) : show(value);
      return [{ path, message: `expected ${expected}, got ${got}`, expected }];
    }
    case 'invalid_format': {
      // Custom messages (regex(…, 'a snake_case stream name')) say what is expected; zod's own start with "Invalid".
      const expected = issue.message.startsWith('Invalid') ? `a value matching ${issue.format === 'regex' ? (issue as { pattern?: string }).pattern ?? issue.format : issue.format}` : issue.message;
      return [{ path, message: `expected ${expected}, got ${show(value)}`, expected }];
    }
    case 'invalid_union':
      return mapUnion(issue, schema, data, prefix, path, value);
    default:
      return [{ path, message: issue.message }];
  }
}

function mapUnion(
  issue: z.core.$ZodIssueInvalidUnion, schema: z.ZodType, data: unknown, prefix: KeyPath, path: KeyPath, value: unknown,
): ConfigIssue[] {
  const branches = issue.errors as AnyIssue[][];
  const wrongType = (b: readonly AnyIssue[]) => b.length === 1 && b[0].code === 'invalid_type' && b[0].path.length === 0;
  if (branches.length === 0 || branches.every(wrongType)) {
    const expected = branches.map((b) => typeName((b[0] as { expected: string }).expected)).join(' or ') || 'a valid value';
    return [{ path, message: value === undefined ? 'required key is missing' : `expected ${expected}, got ${describeType(value)}`, expected }];
  }
  // The branch whose type matched is the one the user meant; report its issues, relative to the union's place.
  const meant = branches.filter((b) => !wrongType(b)).sort((a, b) => a.length - b.length)[0];
  const at = issue.path as KeyPath;
  const union = schemaAt(schema, at);
  const branch = union ? defOf(unwrap(union)).options?.[branches.indexOf(meant)] : undefined;
  return meant.flatMap((i) => mapIssue(i, branch ?? schema, valueAt(data, at), [...prefix, ...at]));
}
