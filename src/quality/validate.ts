// Validation of `checks:`: each entry against its kind's spec, so an error names the file, line and key path
// (`checks.orders[2].range.min`); an unknown kind suggests the nearest; a stream no source declares is an error.
import { z } from 'zod';
import { nearest } from '../config/nearest.js';
import type { KeyPath } from '../config/locate.js';
import { describeType, mapIssues, type ConfigIssue } from '../config/zod-issues.js';
import { SEVERITIES, type CheckConfig } from './check.js';
import { thresholdSchema } from './measures.js';
import { checkSpecs, getCheckSpec } from './registry.js';

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Keys an entry may carry beside its kind. */
export const checkModifiers = {
  severity: z.enum(SEVERITIES).default('error').describe('error: failing rows go to the dead-letter queue (a dataset check, or a check with a threshold, blocks the load); warn: counted and reported, rows load; info: counted only.'),
  threshold: thresholdSchema.optional(),
};
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
    const near = nearest(kind, [...kinds, ...Object.keys(checkModifiers)]);
    issues.push({
      path: [...path, kind], atKey: true, message: `unknown check \`${kind}\` (known checks: ${kinds.join(', ')})`,
      expected: `one of: ${kinds.join(', ')}`, suggestion: near ? `did you mean \`${near}\`?` : undefined,
    });
    return undefined;
  }
  const { [kind]: value, ...rest } = raw;
  const opts = spec.options.safeParse(value);
  if (!opts.success) issues.push(...mapIssues(opts.error.issues, spec.options, value, [...path, kind]));
  const mods = modifiers.safeParse(rest);
  if (!mods.success) issues.push(...mapIssues(mods.error.issues, modifiers, rest, path));
  if (!opts.success || !mods.success) return undefined;
  for (const ref of spec.streams?.(opts.data) ?? []) {
    if (streams.includes(ref.stream)) continue;
    const near = nearest(ref.stream, streams);
    issues.push({
      path: [...path, kind, ...ref.path], message: `no source declares a stream \`${ref.stream}\` (streams: ${streams.join(', ')})`,
      expected: `one of: ${streams.join(', ')}`, suggestion: near ? `did you mean \`${near}\`?` : undefined,
    });
    return undefined;
  }
  return { kind, options: opts.data, severity: mods.data.severity, ...(mods.data.threshold ? { threshold: mods.data.threshold } : {}) };
}

/** The validated `checks` mapping (undefined when absent); issues are pushed for every problem found. */
export function validateChecks(raw: unknown, streams: string[], issues: ConfigIssue[]): Record<string, CheckConfig[]> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isMapping(raw)) {
    issues.push({ path: ['checks'], message: `expected a mapping of stream name → list of checks, got ${describeType(raw)}`, expected: 'mapping' });
    return undefined;
  }
  const out: Record<string, CheckConfig[]> = {};
  for (const [stream, checks] of Object.entries(raw)) {
    const path: KeyPath = ['checks', stream];
    if (!streams.includes(stream)) {
      const near = nearest(stream, streams);
      issues.push({
        path, atKey: true, message: `no source declares a stream \`${stream}\` (streams: ${streams.join(', ') || 'none'})`,
        expected: `one of: ${streams.join(', ')}`, suggestion: near ? `did you mean \`${near}\`?` : undefined,
      });
    }
    if (!Array.isArray(checks)) {
      issues.push({ path, message: `expected a list of checks, got ${describeType(checks)}`, expected: 'list' });
      continue;
    }
    const parsed = checks.map((c, i) => validateCheck(c, [...path, i], issues, streams));
    if (parsed.every((p) => p !== undefined)) out[stream] = parsed as CheckConfig[];
  }
  return out;
}
