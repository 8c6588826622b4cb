// The audit trail's hash chain: each entry's hash covers the previous entry's hash and the entry's own fields, so an
// entry altered, removed or moved breaks every hash after it. Both stores append with it; `sluice audit verify`
// recomputes it (src/observe/audit.ts).
import { createHash } from 'node:crypto';
import type { AuditEntry, AuditInput } from './service-records.js';

/** The hash before the first entry. */
export const GENESIS = '0'.repeat(64);

/** Keys sorted at every level, so the same entry always hashes the same whatever order its detail was built in. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function auditHash(e: Omit<AuditEntry, 'hash'>): string {
  const body = canonicalJson({ seq: e.seq, at: e.at, actor: e.actor, action: e.action, pipeline: e.pipeline, run_id: e.runId, detail: e.detail });
  return createHash('sha256').update(e.prevHash).update('\n').update(body).digest('hex');
}

/** The entry that follows `head` (none: the first), hashed. */
export function chainEntry(input: AuditInput, head: { seq: number; hash: string } | undefined): AuditEntry {
  const base = {
    seq: (head?.seq ?? 0) + 1, at: (input.at ?? new Date()).toISOString(), actor: input.actor, action: input.action,
    pipeline: input.pipeline ?? null, runId: input.runId ?? null, detail: input.detail ?? {}, prevHash: head?.hash ?? GENESIS,
  };
  return { ...base, hash: auditHash(base) };
}
