// Validation of `checks:`: each entry against its kind's spec, so an error names the file, line and key path
// (`checks.orders[2].range.min`); an unknown kind suggests the nearest; a stream no source declares is an error.
import { z } from 'zod';
import type { CheckConfig } from '../quality/check.js';
import { checkSpecs, getCheckSpec } from '../quality/registry.js';
import { checkModifiers } from '../quality/spec.js';
import type { KeyPath } from './locate.js';
import { isMapping, unknownKind, unknownStream, validateStreamLists } from './validate-stream-lists.js';
import { describeType, mapIssues, type ConfigIssue } from './zod-issues.js';

const modifiers = z.strictObject(checkModifiers);

function validateCheck(raw: unknown, path: KeyPath, issues: ConfigIssue[], streams: string[]): CheckConfig | undefined {
  const kinds = checkSpecs().map((s) => s.kind);
  const kindKeys = isMapping(raw) ? Object.keys(raw).filter((k) => !(k in checkModifiers)) : [];
  if (!isMapping(raw) || kindKeys.length !== 1) {
    const got = isMapping(raw) ? (kindKeys.length ? `a mapping with ${kindKeys.length} check keys (${kindKeys.join(', ')})` : 'a mapping without a check kind') : describeType(raw);
    issues.push({ path, message: `expected a check: a mapping with one key, the check kind (${kinds.join(', ')}), plus optional \`severity\` and \`threshold\`; got ${got}`, expected: '{ <kind>: <options>, severity?, threshold? }' });
    return undefined;
  }
  const [kind] = kindKeys;
  const spec = getCheckSpec(kind);
  if (!spec) {
    issues.push(unknownKind('check', 'checks', kind, kinds, path, Object.keys(checkModifiers)));
    return undefined;
  }
  const { [kind]: value, ...rest } = raw;
  const opts = spec.options.safeParse(value);
  if (!opts.success) issues.push(...mapIssues(opts.error.issues, spec.options, value, [...path, kind]));
  const mods = modifiers.safeParse(rest);
  if (!mods.success) issues.push(...mapIssues(mods.error.issues, modifiers, rest, path));
  if (!opts.success || !mods.success) return undefined;
  const missing = (spec.streams?.(opts.data) ?? []).find((ref) => !streams.includes(ref.stream));
  if (missing) {
    issues.push(unknownStream(missing.stream, streams, [...path, kind, ...missing.path], false));
    return undefined;
  }
  return { kind, options: opts.data, severity: mods.data.severity, ...(mods.data.threshold ? { threshold: mods.data.threshold } : {}) };
}

/** The validated `checks` mapping (undefined when absent); issues are pushed for every problem found. */
export const validateChecks = (raw: unknown, streams: string[], issues: ConfigIssue[]): Record<string, CheckConfig[]> | undefined =>
  validateStreamLists(raw, 'checks', 'check', streams, issues, (check, path) => validateCheck(check, path, issues, streams));
