// The checks of one stream in one run: row checks on every coerced row (error → the row's DLQ reason; warn and
// info counted), dataset checks observed along the way, and at the end the gate: a blocking check that fails means
// nothing of the stream may become visible. The engine's call sites stay small (see ../engine/stream-task.ts).
import type { Column } from '../core/types.js';
import { type CheckConfig, type CheckEnv, type CompiledCheck, type Scan, scanOf, type Severity, type Threshold } from './check.js';
import { type QualityMetrics, ratio, score } from './metrics.js';
import { getCheckSpec } from './registry.js';

/** What the run reports per check. */
export interface CheckReport {
  check: string;
  severity: Severity;
  /** Rows the check failed (row checks). */
  failed?: number;
  threshold?: string;
  /** Dataset verdicts and thresholds: what was measured, against what. */
  measured?: string;
  limit?: string;
  /** False when the check failed as a whole (a crossed threshold, a failed dataset verdict). */
  ok: boolean;
}

export interface StreamQualityReport extends QualityMetrics {
  rows: number;
  checks: CheckReport[];
  /** Why the load was blocked, when it was. */
  blocked?: string;
  /** Warn-level gates that failed: the stream loaded, the run ends in partial success. */
  warnings?: string[];
}

interface Entry {
  config: CheckConfig;
  check: CompiledCheck;
  failed: number;
  blocking: boolean;
  verdict?: { ok: boolean; measured: string; limit: string; timeliness?: number };
}

export class StreamQuality {
  private readonly entries: Entry[];
  private readonly rowEntries: Entry[];
  private readonly columns: string[];
  private rows = 0;
  private invalid = 0;
  /** Non-null values of the checked columns, over all rows checked. */
  private nonNull = 0;
  // Bound to a column layout; rebound only when the stream gains columns.
  private width = -1;
  private scans: Scan[] = [];
  private observers: ((row: unknown[]) => void)[] = [];
  private at = new Int32Array(0);
  private known = new Set<string>();

  /**
   * `gates: false` (a dead-letter replay, which re-sends a handful of rows): only row checks run, without thresholds;
   * dataset checks and gates judge a whole run's data, which a replay is not.
   */
  constructor(configs: CheckConfig[], env: CheckEnv, opts: { gates?: boolean } = {}) {
    const gates = opts.gates ?? true;
    this.entries = configs
      .filter((config) => gates || getCheckSpec(config.kind)!.level === 'row')
      .map((config) => {
        const check = getCheckSpec(config.kind)!.compile(config.options, env);
        if (!gates) return { config: { ...config, threshold: undefined }, check: { ...check, gate: false }, failed: 0, blocking: false };
        return { config, check, failed: 0, blocking: config.severity === 'error' && (!!config.threshold || !!check.gate) };
      });
    this.rowEntries = this.entries.filter((e) => e.check.row);
    this.columns = [...new Set(this.entries.flatMap((e) => e.check.columns))];
  }

  /** A check that can block the load: the stream must stage everything and commit once, after the gate. */
  get gated(): boolean {
    return this.entries.some((e) => e.blocking);
  }

  /** Read reference keys, target keys and history, once, before the first row. */
  async prepare(): Promise<void> {
    for (const e of this.entries) await e.check.prepare?.();
  }

  /** Bind the checks to the stream's current columns (cheap when nothing changed). */
  bind(columns: readonly Column[]): void {
    if (columns.length === this.width) return;
    const index = new Map(columns.map((c, i) => [c.name, i]));
    const resolve = (name: string): number => index.get(name) ?? -1;
    this.scans = this.rowEntries.map((e) => e.check.scan?.(resolve) ?? scanOf(e.check.row!(resolve)));
    this.observers = this.entries.flatMap((e) => (e.check.observe ? [e.check.observe(resolve)] : []));
    // Columns the stream lacks hold no values: left out.
    this.at = Int32Array.from(this.columns.map(resolve).filter((c) => c >= 0));
    this.width = columns.length;
    this.known = new Set(index.keys());
  }

  /**
   * Check a batch of coerced rows, check by check. `at[i]` is where row `i` sits in its batch, for the dead-letter
   * queue. Returns the rows that load, and why the others (failing an error check) do not. Every check sees every
   * row in order, so each one's failure count is exact and `unique` keeps the first occurrence. (10 checks over 1M
   * rows: ~0.4 s.)
   */
  check(rows: unknown[][], at: readonly number[]): { rows: unknown[][]; failed: { index: number; reason: string }[] } {
    const n = rows.length;
    this.rows += n;
    // Row by row, every checked column of a row at once: rows are separate arrays, and walking all of them once per
    // column read each one from memory again.
    const cols = this.at;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const row = rows[i];
      for (let k = 0; k < cols.length; k++) {
        const v = row[cols[k]];
        if (v !== null && v !== undefined) count++;
      }
    }
    this.nonNull += count;
    for (const observe of this.observers) for (let i = 0; i < n; i++) observe(rows[i]);
    let reasons: (string | undefined)[] | undefined;
    let invalid: Uint8Array | undefined;
    for (let k = 0; k < this.scans.length; k++) {
      const e = this.rowEntries[k];
      const blocking = e.config.severity === 'error';
      this.scans[k](rows, (i, why) => {
        e.failed++;
        (invalid ??= new Uint8Array(n))[i] = 1;
        if (!blocking) return;
        reasons ??= new Array<string | undefined>(n);
        const text = `check ${e.check.label} failed: ${why}`;
        reasons[i] = reasons[i] === undefined ? text : `${reasons[i]}; ${text}`;
      });
    }
    if (invalid) for (let i = 0; i < n; i++) this.invalid += invalid[i];
    if (!reasons) return { rows, failed: [] };
    const pass: unknown[][] = [];
    const failed: { index: number; reason: string }[] = [];
    for (let i = 0; i < n; i++) {
      const why = reasons[i];
      if (why === undefined) pass.push(rows[i]);
      else failed.push({ index: at[i], reason: why });
    }
    return { rows: pass, failed };
  }

  /** check() for one row: the reason it goes to the dead-letter queue, or undefined when it loads. */
  row(row: unknown[]): string | undefined {
    return this.check([row], [0]).failed[0]?.reason;
  }

  /**
   * The end of the stream: judge thresholds and dataset checks. `loaded` is what went to the destination (staged
   * when gated). Returns the report; `blocked` says which gate stopped the load, its measured value and limit.
   */
  async finish(loaded: number, now = new Date()): Promise<StreamQualityReport> {
    const blocked: string[] = [];
    const warnings: string[] = [];
    for (const e of this.entries) {
      const sev = e.config.severity;
      if (e.check.verdict) {
        e.verdict = await e.check.verdict({ rows: loaded, now });
      } else if (e.config.threshold || e.check.gate) {
        const t: Threshold = e.config.threshold ?? { count: 0, text: '0' };
        const over = 'ratio' in t ? this.rows > 0 && e.failed / this.rows > t.ratio : e.failed > t.count;
        const measured = 'ratio' in t ? `${e.failed} of ${this.rows} rows (${this.rows ? ((100 * e.failed) / this.rows).toFixed(2) : '0'}%)` : `${e.failed} rows`;
        e.verdict = { ok: !over, measured, limit: `threshold ${t.text}` };
      }
      if (e.verdict && !e.verdict.ok) {
        const text = `check ${e.check.label}: ${e.verdict.measured}, ${e.verdict.limit}`;
        if (e.blocking) blocked.push(text);
        else if (sev === 'warn') warnings.push(text);
      }
    }
    // A check on a column the stream never had (a typo, a column renamed by a transform) would pass or fail every
    // row for the wrong reason: say so.
    const missing = this.rows > 0 ? this.columns.filter((c) => !this.known.has(c)) : [];
    for (const e of this.entries) {
      const gone = e.check.columns.filter((c) => missing.includes(c));
      if (gone.length) warnings.push(`check ${e.check.label}: the stream has no column ${gone.map((c) => `"${c}"`).join(', ')}`);
    }
    const consistencyChecks = this.rowEntries.filter((e) => e.check.consistency);
    const fresh = this.entries.filter((e) => e.verdict?.timeliness !== undefined);
    const cells = this.rows * this.columns.length;
    const metrics = {
      completeness: ratio(this.nonNull, cells),
      validity: this.rowEntries.length ? ratio(this.rows - this.invalid, this.rows) : null,
      consistency: consistencyChecks.length
        ? ratio(this.rows * consistencyChecks.length - consistencyChecks.reduce((n, e) => n + e.failed, 0), this.rows * consistencyChecks.length)
        : null,
      timeliness: fresh.length ? ratio(fresh.reduce((n, e) => n + e.verdict!.timeliness!, 0), fresh.length) : null,
    };
    return {
      ...metrics,
      score: score(metrics),
      rows: this.rows,
      checks: this.entries.map((e) => ({
        check: e.check.label, severity: e.config.severity,
        ...(e.check.row ? { failed: e.failed } : {}),
        ...(e.config.threshold ? { threshold: e.config.threshold.text } : {}),
        ...(e.verdict ? { measured: e.verdict.measured, limit: e.verdict.limit } : {}),
        ok: e.verdict ? e.verdict.ok : e.failed === 0,
      })),
      ...(blocked.length ? { blocked: blocked.join('; ') } : {}),
      ...(warnings.length ? { warnings } : {}),
    };
  }
}
