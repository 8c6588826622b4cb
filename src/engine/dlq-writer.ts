// Sends rejected rows of one stream to the dead-letter queue in the control store. Payloads pass through redact()
// so a secret that leaked into data never reaches the DLQ verbatim.
import type { ControlStore } from '../control/control-store.js';
import { redact } from '../core/redact.js';
import type { RejectedRow } from '../core/types.js';

export class DlqWriter {
  constructor(
    private readonly store: ControlStore,
    private readonly pipeline: string,
    private readonly stream: string,
    private readonly runId: string,
    private readonly dryRun: boolean,
  ) {}

  /** Returns how many rows were dead-lettered (all of them count for this run, even ones a crashed run stored). */
  async add(rows: RejectedRow[]): Promise<number> {
    if (!this.dryRun) {
      await this.store.addDlq(rows.map((r) => ({
        ...r, raw: redact(r.raw), reason: redact(r.reason), pipeline: this.pipeline, stream: this.stream, runId: this.runId,
      })));
    }
    return rows.length;
  }
}
