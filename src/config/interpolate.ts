// `${VAR}` and `${VAR:-default}` in string values. It runs after YAML parsing, on values, so YAML line numbers
// stay exact and a variable can never inject YAML structure. `$${` is a literal `${`.
import { ConfigError } from '../core/errors.js';
import { registerSecret, SECRET_KEY } from '../core/redact.js';
import { COLUMN_TYPES } from '../core/types.js';
import { formatPath, pathKey, type KeyPath } from './locate.js';

export type Env = Record<string, string | undefined>;

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Thrown by `interpolate` for a reference it cannot resolve; the caller adds the key path and line. */
export class InterpolationError extends Error {
  constructor(message: string, readonly variable?: string) {
    super(message);
  }
}

export interface Interpolated {
  value: string;
  /** Names of the variables that were read (defaults included), for secret detection. */
  variables: string[];
}

/**
 * Expand references in one string. As in the shell, `:-default` applies when the variable is unset or empty;
 * an unset variable without default is an error, an empty one expands to "".
 */
export function interpolate(text: string, env: Env): Interpolated {
  if (!text.includes('${')) return { value: text, variables: [] };
  let out = '';
  const variables: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
    } else if (text.startsWith('${', i)) {
      const end = text.indexOf('}', i + 2);
      if (end < 0) throw new InterpolationError(`unterminated \`\${\` in "${text}" (write \`$\${\` for a literal \`\${\`)`);
      const body = text.slice(i + 2, end);
      const sep = body.indexOf(':-');
      const name = sep < 0 ? body : body.slice(0, sep);
      if (!NAME.test(name)) throw new InterpolationError(`invalid variable reference \`\${${body}}\`: expected \${NAME} or \${NAME:-default}`);
      variables.push(name);
      const value = env[name];
      if (sep >= 0) out += value === undefined || value === '' ? body.slice(sep + 2) : value;
      else if (value === undefined) throw new InterpolationError(`environment variable ${name} is not set (use \${${name}:-default} to give a default)`, name);
      else out += value;
      i = end + 1;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return { value: out, variables };
}

export interface TreeOptions {
  /** Expand `${…}` (YAML files); the TypeScript API passes values as they are. */
  interpolate: boolean;
  env: Env;
  /** File position of a path, for error messages. */
  where?: (path: KeyPath) => { file?: string; line?: number; column?: number };
}

export interface TreeResult {
  value: unknown;
  /** Paths (pathKey) of values that came out of an interpolation: they may be converted to numbers later. */
  interpolated: Set<string>;
}

const lastKey = (path: KeyPath): string | undefined => {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === 'string') return path[i] as string;
  return undefined;
};

/**
 * `columns: { password_hash: text }` names a column, not a secret: registering "text" would mask the word in
 * every log line.
 */
const isColumnType = (path: KeyPath, value: string): boolean =>
  path.includes('columns') || (COLUMN_TYPES as readonly string[]).includes(value);

/**
 * Copy a parsed config tree, expanding references in every string value and registering secrets: values under
 * secret-looking keys (password, token, …), and values of secret-looking variables (DB_PASSWORD) wherever they
 * are interpolated (a password inside a URL).
 */
export function resolveTree(root: unknown, opts: TreeOptions): TreeResult {
  const interpolated = new Set<string>();
  const walk = (value: unknown, path: (string | number)[]): unknown => {
    if (typeof value === 'string') {
      let out = value;
      if (opts.interpolate) {
        let r: Interpolated;
        try {
          r = interpolate(value, opts.env);
        } catch (e) {
          if (!(e instanceof InterpolationError)) throw e;
          throw new ConfigError(e.message, { ...opts.where?.(path), path: formatPath(path), expected: e.variable ? `environment variable ${e.variable}` : undefined });
        }
        out = r.value;
        if (r.variables.length > 0) interpolated.add(pathKey(path));
        for (const name of r.variables) if (SECRET_KEY.test(name)) registerSecret(opts.env[name]);
      }
      const key = lastKey(path);
      if (key !== undefined && SECRET_KEY.test(key) && !isColumnType(path, out)) registerSecret(out);
      return out;
    }
    if (Array.isArray(value)) return value.map((v, i) => walk(v, [...path, i]));
    if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) out[k] = walk(v, [...path, k]);
      return out;
    }
    return value;
  };
  return { value: walk(root, []), interpolated };
}
