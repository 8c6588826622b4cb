// A data subject erased from a pipeline's dead-letter queue. Entries are read page by page and decrypted here (the key
// is needed to look inside an encrypted one); a row payload (JSON object) is the subject's when its column holds the
// value, and a payload that never parsed (a CSV line, an XML record) when the value stands in it as a whole token.
// An entry that cannot be decrypted cannot be checked: it is counted, so the report says the queue was not fully read.
import type { ControlStore } from '../control/control-store.js';
import { subjectText } from '../core/suppression.js';
import type { SubjectKey } from './erase-tables.js';

export interface DlqErasure {
  /** Entries of the subject (removed, unless a dry run). */
  entries: number;
  /** Entries stored under a key this process does not have: not checked. */
  unreadable: number;
}

const PAGE = 500;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Whether a payload holds the subject (`columns`: the names the column has, at the source and in the table). */
export function holdsSubject(raw: string, columns: readonly string[], value: string): boolean {
  if (raw.startsWith('{')) {
    try {
      const row = JSON.parse(raw) as unknown;
      if (row && typeof row === 'object' && !Array.isArray(row)) {
        return columns.some((c) => {
          const v = (row as Record<string, unknown>)[c];
          return v !== null && v !== undefined && subjectText(v) === value;
        });
      }
    } catch {
      // Not JSON after all: read as text below.
    }
  }
  return value.length > 0 && new RegExp(`(^|[^\\p{L}\\p{N}_])${escapeRegExp(value)}($|[^\\p{L}\\p{N}_])`, 'u').test(raw);
}

export async function eraseFromDlq(store: ControlStore, pipeline: string, columns: readonly string[], subject: SubjectKey, dryRun: boolean): Promise<DlqErasure> {
  const out: DlqErasure = { entries: 0, unreadable: 0 };
  let afterId: number | undefined;
  for (;;) {
    const page = await store.listDlq({ pipeline, includeReplayed: true, limit: PAGE, ...(afterId === undefined ? {} : { afterId }) });
    if (page.length === 0) break;
    afterId = page[page.length - 1].id;
    const ids: number[] = [];
    for (const e of page) {
      if (e.undecryptable) out.unreadable++;
      else if (holdsSubject(e.raw, columns, subject.value)) ids.push(e.id!);
    }
    out.entries += ids.length;
    if (ids.length && !dryRun) await store.purgeDlq({ pipeline, ids });
  }
  return out;
}
