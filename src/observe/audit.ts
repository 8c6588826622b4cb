// Checks the audit trail's hash chain (src/control/audit-chain.ts): every entry's hash recomputed, every link to the
// previous entry followed, sequence numbers contiguous, and the last entry the head the store recorded — so an entry
// altered, removed (the last one too) or moved is found, and the first bad one named.
import { auditHash, GENESIS } from '../control/audit-chain.js';
import type { AuditEntry, ServiceStore } from '../control/service-records.js';

export interface AuditVerdict {
  ok: boolean;
  checked: number;
  /** The first entry that does not hold, and why. */
  bad?: { seq: number; reason: string };
}

export async function verifyChain(entries: AsyncIterable<AuditEntry> | Iterable<AuditEntry>, head: { seq: number; hash: string } | undefined): Promise<AuditVerdict> {
  let prev: AuditEntry | undefined;
  let checked = 0;
  for await (const e of entries) {
    checked++;
    const expectedSeq = (prev?.seq ?? 0) + 1;
    if (e.seq !== expectedSeq) return { ok: false, checked, bad: { seq: e.seq, reason: `expected entry ${expectedSeq} here: ${e.seq > expectedSeq ? 'entries were removed' : 'entries were reordered'}` } };
    if (e.prevHash !== (prev?.hash ?? GENESIS)) return { ok: false, checked, bad: { seq: e.seq, reason: 'its link to the previous entry is broken (an earlier entry was altered, removed or moved)' } };
    if (auditHash(e) !== e.hash) return { ok: false, checked, bad: { seq: e.seq, reason: 'its content does not match its hash (the entry was altered)' } };
    prev = e;
  }
  if (head && (!prev || prev.seq !== head.seq || prev.hash !== head.hash)) {
    return { ok: false, checked, bad: { seq: (prev?.seq ?? 0) + 1, reason: `the chain ends at entry ${prev?.seq ?? 0} but its head says ${head.seq}: the last entries were removed` } };
  }
  if (!head && prev) return { ok: false, checked, bad: { seq: prev.seq, reason: 'the chain has entries but no head: the head record was removed' } };
  return { ok: true, checked };
}

/** The trail in chain order, a page at a time: a long trail is never held whole. */
export async function* auditEntries(store: ServiceStore, filter: { runId?: string; pipeline?: string } = {}, page = 1000): AsyncGenerator<AuditEntry> {
  for (let after = 0; ;) {
    const batch = await store.listAudit({ ...filter, afterSeq: after, limit: page });
    yield* batch;
    if (batch.length < page) return;
    after = batch[batch.length - 1].seq;
  }
}
