// The shape `transforms:` and `checks:` share: a mapping of stream name → list of entries, each a mapping whose one
// key names a kind from a registry. What is common to both (the mapping, unknown streams, unknown kinds) is said
// once here, so both keys report problems in the same words.
import type { KeyPath } from './locate.js';
import { nearest } from './nearest.js';
import { describeType, type ConfigIssue } from './zod-issues.js';

export const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A stream name no source declares, with the nearest declared one. */
export function unknownStream(stream: string, streams: string[], path: KeyPath, atKey: boolean): ConfigIssue {
  const near = nearest(stream, streams);
  return {
    path, ...(atKey ? { atKey } : {}), message: `no source declares a stream \`${stream}\` (streams: ${streams.join(', ') || 'none'})`,
    expected: `one of: ${streams.join(', ')}`, suggestion: near ? `did you mean \`${near}\`?` : undefined,
  };
}

/** A kind the registry does not know (`what`: "check"); `alsoNear` are other keys a typo may have meant. */
export function unknownKind(what: string, plural: string, kind: string, kinds: string[], path: KeyPath, alsoNear: string[] = []): ConfigIssue {
  const near = nearest(kind, [...kinds, ...alsoNear]);
  return {
    path: [...path, kind], atKey: true, message: `unknown ${what} \`${kind}\` (known ${plural}: ${kinds.join(', ')})`,
    expected: `one of: ${kinds.join(', ')}`, suggestion: near ? `did you mean \`${near}\`?` : undefined,
  };
}

/**
 * The validated mapping under `key` (undefined when absent): every list entry goes through `entry`, which pushes
 * its own issues and returns undefined for an invalid one. A stream keeps its list only when every entry is valid.
 */
export function validateStreamLists<T>(
  raw: unknown, key: 'transforms' | 'checks', noun: string, streams: string[], issues: ConfigIssue[],
  entry: (raw: unknown, path: KeyPath) => T | undefined,
): Record<string, T[]> | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isMapping(raw)) {
    issues.push({ path: [key], message: `expected a mapping of stream name → list of ${noun}s, got ${describeType(raw)}`, expected: 'mapping' });
    return undefined;
  }
  const out: Record<string, T[]> = {};
  for (const [stream, list] of Object.entries(raw)) {
    const path: KeyPath = [key, stream];
    if (!streams.includes(stream)) issues.push(unknownStream(stream, streams, path, true));
    if (!Array.isArray(list)) {
      issues.push({ path, message: `expected a list of ${noun}s, got ${describeType(list)}`, expected: 'list' });
      continue;
    }
    const parsed = list.map((item, i) => entry(item, [...path, i]));
    if (parsed.every((p) => p !== undefined)) out[stream] = parsed as T[];
  }
  return out;
}
