// Reading JSON bodies: dot paths (`pagination.next_url`, `data.repository.issues.nodes`, `items.0.id`) and the
// `{{…}}` templates of paths and parameters (`/votes/ballots/?vote={{parent.url}}`, `{{cursor}}`).

/** The value at a dot path; an empty path is the value itself. Undefined when any step is missing. */
export function valueAt(value: unknown, path: string | undefined): unknown {
  if (!path) return value;
  let v: unknown = value;
  for (const step of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[step];
  }
  return v;
}

/**
 * The records of a response body: the array at `path`; without a path the body itself when it is an array, else
 * its first array-valued field (`{"objects": [...], "pagination": {...}}` → objects). Null at the path (an API
 * saying "nothing") is an empty page; a missing path or a non-array is an error the caller reports.
 */
export function recordsOf(body: unknown, path: string | undefined): unknown[] | string {
  if (path) {
    const v = valueAt(body, path);
    if (v === null) return [];
    if (Array.isArray(v)) return v;
    return v === undefined ? `no \`${path}\` in the response` : `\`${path}\` is ${typeof v}, not an array`;
  }
  if (Array.isArray(body)) return body;
  if (body !== null && typeof body === 'object') {
    for (const v of Object.values(body)) if (Array.isArray(v)) return v;
  }
  return 'no array of records in the response (set `records` to its path)';
}

const TEMPLATE = /\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g;

export const hasTemplate = (s: string): boolean => /\{\{\s*[A-Za-z0-9_.-]+\s*\}\}/.test(s);

/**
 * Fill `{{name}}` / `{{parent.field}}` from `vars`. Returns undefined when a referenced value is missing or null, so
 * the caller can drop an optional parameter (no cursor yet) or report a missing parent field.
 */
export function fillTemplate(template: string, vars: Record<string, unknown>, encode: (s: string) => string = (s) => s): string | undefined {
  let missing = false;
  const out = template.replace(TEMPLATE, (_m, name: string) => {
    const v = valueAt(vars, name);
    if (v === undefined || v === null) {
      missing = true;
      return '';
    }
    return encode(typeof v === 'object' ? JSON.stringify(v) : String(v));
  });
  return missing ? undefined : out;
}

/**
 * Fill a path template that may carry a query (`/votes/ballots/?vote={{parent.url}}`): values in the path part keep
 * their slashes (a parent's `url` can be the path itself), values in the query part are encoded as components.
 */
export function fillPath(template: string, vars: Record<string, unknown>): string | undefined {
  const q = template.indexOf('?');
  const path = q < 0 ? template : template.slice(0, q);
  const query = q < 0 ? undefined : template.slice(q + 1);
  const p = fillTemplate(path, vars, (s) => encodeURI(s).replace(/[?#]/g, encodeURIComponent));
  const qs = query === undefined ? '' : fillTemplate(query, vars, encodeURIComponent);
  if (p === undefined || qs === undefined) return undefined;
  return query === undefined ? p : `${p}?${qs}`;
}

/** `base_url` + a path: an absolute path is kept whole; otherwise joined without losing the base's own path prefix. */
export function joinUrl(base: string, path: string): URL {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return new URL(path);
  return new URL(base.replace(/\/+$/, '') + (path.startsWith('/') ? path : `/${path}`));
}
