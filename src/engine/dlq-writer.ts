// Sends rejected rows of one stream to the dead-letter queue in the control store. Payloads pass through redact()
// so a secret that leaked into data never reaches the DLQ verbatim. In a stream with `pii` columns, the tagged values
// of each rejected row are told to the redactor (bounded, core/pii.ts) and masked in the reason; without an encryption
// key they are masked in the payload too (with one, the store encrypts payload and reason: core/at-rest.ts).
import type { ControlStore } from '../control/control-store.js';
import { atRestKeys } from '../core/at-rest.js';
import { PII_WITHHELD, maskPayload, maskQuoted, maskValues, rememberPii, taggedValues } from '../core/pii.js';
import { redact } from '../core/redact.js';
import type { RejectedRow } from '../core/types.js';

export class DlqWriter {
  constructor(
    private readonly store: ControlStore,
    private readonly pipeline: string,
    private readonly stream: string,
    private readonly runId: string,
    private readonly dryRun: boolean,
    /** The stream's `pii` columns. */
    private readonly pii: readonly string[] = [],
    /** The pipeline's `privacy.dlq: mask`: tagged values are masked even when a key could encrypt them. */
    private readonly maskAlways = false,
  ) {}

  /** Returns how many rows were dead-lettered (all of them count for this run, even ones a crashed run stored). */
  async add(rows: RejectedRow[]): Promise<number> {
    const pii = this.pii;
    const encrypted = !!atRestKeys() && !this.maskAlways;
    const kept = rows.map((r) => {
      // Only secrets are redacted here: the personal values the redactor knows (up to thousands) would cost a scan each
      // per row; a row's own tagged values are masked below, by its stream's tags.
      if (!pii.length) return { ...r, raw: redact(r.raw, false), reason: redact(r.reason, false) };
      const values = taggedValues(r.raw, pii);
      rememberPii(values);
      // Encrypted, the payload keeps personal values (replay needs them); without a key it is masked.
      const raw = encrypted ? redact(r.raw, false) : maskPayload(redact(r.raw, false), pii);
      const reason = maskValues(redact(r.reason, false), values);
      return { ...r, raw, reason: raw === PII_WITHHELD ? maskQuoted(reason) : reason };
    });
    if (!this.dryRun) {
      await this.store.addDlq(kept.map((r) => ({ ...r, pipeline: this.pipeline, stream: this.stream, runId: this.runId })));
    }
    return rows.length;
  }
}
