// A run's log lines kept in the control store, for the dashboard's run page: written in small batches while the run
// goes (a live run shows its lines as they come), at most MAX_LINES per run — a run that logs more keeps its first
// lines and one line saying how many more there were. The lines are the logger's own JSON, already redacted.
import type { ControlStore, RunLogLine } from '../control/control-store.js';
import { errorMessage } from '../core/errors.js';

const MAX_LINES = 2000;
const FLUSH_MS = 250;
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };
/** Fields every line of a run carries (the logger's bindings): said once by the run page, not on each line. */
const OMIT = new Set(['level', 'time', 'msg', 'stream', 'run_id', 'pipeline']);

export class RunLog {
  private pending: RunLogLine[] = [];
  private seq = 0;
  private dropped = 0;
  private timer?: NodeJS.Timeout;
  private writing: Promise<void> = Promise.resolve();

  /** `runId` unset: taken from the first line that names it (the engine's lines carry `run_id`). */
  constructor(private readonly store: ControlStore, private runId?: string, private readonly onError?: (message: string) => void) {}

  add(line: string): void {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return; // not the logger's JSON: nothing of the run's
    }
    if (!this.runId && typeof o.run_id === 'string') this.runId = o.run_id;
    if (this.seq >= MAX_LINES) {
      this.dropped++;
      return;
    }
    const fields: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) if (!OMIT.has(k)) fields[k] = v;
    this.pending.push({
      seq: ++this.seq,
      at: new Date(typeof o.time === 'number' ? o.time : Date.now()).toISOString(),
      level: LEVELS[o.level as number] ?? String(o.level ?? 'info'),
      msg: typeof o.msg === 'string' ? o.msg : '',
      stream: typeof o.stream === 'string' ? o.stream : null,
      fields,
    });
    this.timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what is pending (and, at the end, how many lines were not kept); never throws. */
  flush(final = false): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (final && this.dropped > 0) {
      this.pending.push({ seq: MAX_LINES + 1, at: new Date().toISOString(), level: 'warn', msg: `${this.dropped} more log lines were not kept`, stream: null, fields: {} });
      this.dropped = 0;
    }
    const lines = this.pending;
    this.pending = [];
    const runId = this.runId;
    if (lines.length === 0 || !runId) return this.writing;
    this.writing = this.writing.then(() => this.store.appendRunLogs(runId, lines))
      .catch((e: unknown) => this.onError?.(`could not keep the run's log lines: ${errorMessage(e)}`));
    return this.writing;
  }
}
