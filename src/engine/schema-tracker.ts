// The schema of one stream as it loads: declared columns are contracts, the rest is inferred from data and only
// ever widens. It also maps source names to destination names once, and keeps that mapping in the stream state,
// so `Name` and `name` land in two columns even where the destination folds case, and stay there run after run.
import type { StreamConfig } from '../core/connector.js';
import { RunError } from '../core/errors.js';
import { abbreviate, inheritedKey, ownValue } from '../core/record.js';
import { type Column, type ColumnType, type Row, type Schema, parseDeclared } from '../core/types.js';
import { type Coercer, FAIL, isCanonical, valueCoercer } from '../core/values/coerce.js';
import { decimalMisfit } from '../core/values/decimal-text.js';
import { typeOfValue, widen } from '../core/values/infer.js';

export interface SchemaChange {
  /** `reject_column` / `discard_column`: a new column a schema contract kept out of the table (ledger only). */
  change: 'add_column' | 'widen_column' | 'reject_column' | 'discard_column';
  column: string;
  from?: ColumnType;
  to: ColumnType;
}

/** What the destination's types bound (DestinationCapabilities.decimal). */
export interface TypeBounds {
  decimal?: { precision: number; scale: number };
}

export interface Identifiers {
  caseSensitive: boolean;
  maxLength: number;
}

export interface CoerceResult {
  rows: unknown[][];
  /** Indexes (into the input) of rows that were accepted, aligned with `rows`. */
  accepted: number[];
  rejected: { index: number; reason: string }[];
  /** Rows a `discard_row` contract dropped (counted as filtered). */
  dropped: number;
}

/** misfit()'s answer for a row a `discard_row` contract drops. */
const DROP = '\u0000drop';

export class SchemaTracker {
  readonly columns: Column[] = [];
  private readonly index = new Map<string, number>();
  private readonly targets = new Set<string>();
  private coercers: Coercer[] = [];
  /** Per column: the canonical-type check when a canonical batch may skip its coercer (see `trusted`). */
  private canonical: (((v: unknown) => boolean) | undefined)[] = [];
  private from = new Int32Array(0);
  private fromNames: readonly string[] | undefined;
  /** A contract other than evolve holds the columns once the schema is known; new ones land here instead. */
  private readonly holds: boolean;
  private established: boolean;
  private readonly extras = new Set<string>();

  constructor(
    private readonly stream: StreamConfig,
    stored: Schema | undefined,
    private readonly ids: Identifiers,
    /** Columns a source typed from its catalog (not re-declared otherwise): canonical batches skip their coercion. */
    private readonly trusted: ReadonlySet<string> = new Set(),
    private readonly bounds: TypeBounds = {},
  ) {
    for (const c of stored?.columns ?? []) this.push({ ...c });
    for (const [name, declared] of Object.entries(stream.columns ?? {})) {
      // `decimal(10,2)`: a decimal with its precision; validation let only known types through.
      const { type, precision, scale } = parseDeclared(declared) ?? { type: 'text' as const };
      const digits = precision === undefined ? {} : { precision, scale };
      const i = this.index.get(name);
      if (i === undefined) {
        this.push({ name, type, nullable: true, declared: true, ...digits });
      } else {
        const { precision: _p, scale: _s, ...stored } = this.columns[i];
        this.columns[i] = { ...stored, type, declared: true, ...digits };
      }
    }
    this.holds = !!stream.contract && stream.contract !== 'evolve';
    this.established = this.columns.length > 0;
    this.rebuild();
  }

  get schema(): Schema {
    return { columns: this.columns.map((c) => ({ ...c })) };
  }

  /** Destination name of a source column. */
  target(name: string): string | undefined {
    const i = this.index.get(name);
    return i === undefined ? undefined : this.columns[i].target;
  }

  /**
   * Add the columns this batch introduces, typed from its values. A column seen only as null waits until a value
   * shows its type (its nulls lose nothing meanwhile).
   */
  addColumns(rows: Row[]): SchemaChange[] {
    let found: Map<string, ColumnType | undefined> | undefined;
    for (const row of rows) {
      for (const key in row) {
        if (this.index.has(key)) continue;
        found ??= new Map();
        found.set(key, widenOrKeep(found.get(key), typeOfValue(row[key])));
      }
    }
    return this.addFound(found);
  }

  /** addColumns for rows as arrays aligned with `names`: only the names are looked up, once per batch. */
  addColumnsOf(names: readonly string[], rows: readonly unknown[][]): SchemaChange[] {
    let found: Map<string, ColumnType | undefined> | undefined;
    for (let k = 0; k < names.length; k++) {
      if (this.index.has(names[k])) continue;
      let type: ColumnType | undefined;
      for (const row of rows) type = widenOrKeep(type, typeOfValue(row[k]));
      (found ??= new Map()).set(names[k], type);
    }
    return this.addFound(found);
  }

  private addFound(found: Map<string, ColumnType | undefined> | undefined): SchemaChange[] {
    const changes: SchemaChange[] = [];
    const held = this.holds && this.established;
    for (const [name, type] of found ?? []) {
      if (!type) continue;
      if (held) {
        // Recorded once per run; the rows carrying it are judged in coerce.
        if (!this.extras.has(name)) changes.push({ change: this.stream.contract === 'freeze' ? 'reject_column' : 'discard_column', column: name, to: type });
        this.extras.add(name);
        continue;
      }
      this.push({ name, type, nullable: true });
      changes.push({ change: 'add_column', column: name, to: type });
    }
    if (changes.length && !held) {
      this.rebuild();
      this.established = true;
    }
    return changes;
  }

  /** Why a row with a value in a column the contract keeps out is rejected (freeze) or dropped; undefined: it loads. */
  private extraVerdict(has: (name: string) => boolean): string | undefined {
    if (this.stream.contract === 'discard_value') return undefined;
    for (const name of this.extras) {
      if (!has(name)) continue;
      return this.stream.contract === 'discard_row' ? DROP : `column "${name}" is not in the schema (contract: freeze)`;
    }
    return undefined;
  }

  /**
   * Coerce rows to arrays aligned with `columns`. Values that do not fit follow the stream's policy: `widen`
   * changes the column type (inferred columns only) and returns the change, so the caller evolves the destination
   * and coerces again; `reject` sends the row to the DLQ; `fail` stops the stream.
   */
  coerce(rows: Row[]): CoerceResult & { changes: SchemaChange[] } {
    const n = this.columns.length;
    const names = this.columns.map((c) => c.name);
    // A record lacking `constructor` must not read Object.prototype's: such names are read as own keys only (and
    // only such names pay for the check).
    const inherited = names.map(inheritedKey);
    const anyInherited = inherited.includes(true);
    const out: unknown[][] = [];
    const accepted: number[] = [];
    const rejected: { index: number; reason: string }[] = [];
    const changes: SchemaChange[] = [];
    let dropped = 0;
    const extras = this.extras.size > 0;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      const values = new Array(n);
      let bad = extras ? this.extraVerdict((name) => (ownValue(row, name) ?? null) !== null) : undefined;
      for (let i = 0; i < n && bad === undefined; i++) {
        const raw = anyInherited && inherited[i] ? ownValue(row, names[i]) : row[names[i]];
        const v = raw === null || raw === undefined ? null : this.coercers[i](raw);
        if (v !== FAIL) values[i] = v;
        else if ((bad = this.misfit(i, raw, changes, values)) !== undefined) break;
      }
      if (bad === DROP) dropped++;
      else if (bad !== undefined) rejected.push({ index: r, reason: bad });
      else {
        out.push(values);
        accepted.push(r);
      }
    }
    // Rows coerced before a widening hold values of the narrower type; the caller coerces the batch again.
    return { rows: out, accepted, rejected, changes, dropped };
  }

  /** coerce() for rows as arrays aligned with `names`: values are read by position, not looked up by name. */
  coerceValues(names: readonly string[], rows: readonly unknown[][], canonical = false): CoerceResult & { changes: SchemaChange[] } {
    const n = this.columns.length;
    const from = this.sourceIndexes(names);
    const coercers = this.coercers;
    // Only a canonical batch may skip coercers; the others are not even asked (a read past an empty array's end).
    const trusted = canonical ? this.canonical : undefined;
    const out: unknown[][] = new Array(rows.length);
    let kept = 0;
    let accepted: number[] | undefined;
    const rejected: { index: number; reason: string }[] = [];
    const changes: SchemaChange[] = [];
    let dropped = 0;
    const extraAt = this.extras.size ? new Map(names.flatMap((name, k) => (this.extras.has(name) ? [[name, k] as const] : []))) : undefined;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r];
      const values = new Array(n);
      let bad = extraAt?.size ? this.extraVerdict((name) => { const k = extraAt.get(name); return k !== undefined && row[k] !== null && row[k] !== undefined; }) : undefined;
      for (let i = 0; i < n && bad === undefined; i++) {
        const k = from[i];
        const raw = k < 0 ? null : row[k];
        const v = raw === null || raw === undefined ? null : trusted?.[i]?.(raw) ? raw : coercers[i](raw);
        if (v !== FAIL) values[i] = v;
        else if ((bad = this.misfit(i, raw, changes, values)) !== undefined) break;
      }
      if (bad !== undefined) {
        // Indexes of accepted rows are only materialised once a row is rejected; until then they are 0..kept-1.
        accepted ??= Array.from({ length: kept }, (_, j) => j);
        if (bad === DROP) dropped++;
        else rejected.push({ index: r, reason: bad });
      } else {
        out[kept++] = values;
        accepted?.push(r);
      }
    }
    out.length = kept;
    return { rows: out, accepted: accepted ?? Array.from({ length: kept }, (_, j) => j), rejected, changes, dropped };
  }

  /**
   * A value that does not fit column `i`: widen the column (the value is then stored in `values`, and undefined
   * returned), or return the reason the row is rejected; with `fail`, throw.
   */
  private misfit(i: number, raw: unknown, changes: SchemaChange[], values: unknown[]): string | undefined {
    const col = this.columns[i];
    const contract = this.stream.contract;
    if (contract === 'discard_value') {
      values[i] = null;
      return undefined;
    }
    if (contract === 'discard_row') return DROP;
    const widens = contract ? contract === 'evolve' : this.stream.on_schema_change === 'widen';
    if (!col.declared && widens) {
      // A value past the destination's bounds for the type itself (a decimal with more digits than DECIMAL(38,9)):
      // no wider type of the same kind holds it, text does.
      const wider = widen(col.type, typeOfValue(raw));
      const to = wider === col.type ? 'text' : wider;
      changes.push({ change: 'widen_column', column: col.name, from: col.type, to });
      col.type = to;
      this.coercers[i] = this.coercerOf(col);
      this.canonical[i] = undefined;
      values[i] = this.coercers[i](raw);
      return undefined;
    }
    const bound = col.type === 'decimal' && this.bounds.decimal;
    const exact = bound ? valueCoercer('decimal')(raw) : FAIL;
    const why = bound && exact !== FAIL
      ? `has more digits than the destination's DECIMAL(${bound.precision},${bound.scale}) holds (declare it text or decimal(p,s))`
      : `is not a valid ${col.type}`;
    const reason = `column "${col.name}": ${JSON.stringify(abbreviate(raw))} ${why}${contract === 'freeze' ? ' (contract: freeze)' : ''}`;
    if (!contract && this.stream.on_schema_change === 'fail') {
      throw new RunError(`stream ${this.stream.name}: ${reason} (on_schema_change: fail)`, this.stream.name);
    }
    return reason;
  }

  /** For each column, its position in rows whose columns are `names` (-1: not there, NULL); cached per header. */
  private sourceIndexes(names: readonly string[]): Int32Array {
    if (this.fromNames !== names || this.from.length !== this.columns.length) {
      const at = new Map(names.map((name, k) => [name, k]));
      this.from = Int32Array.from(this.columns, (c) => at.get(c.name) ?? -1);
      this.fromNames = names;
    }
    return this.from;
  }

  private push(col: Column): void {
    col.target ??= this.targetName(col.name);
    this.index.set(col.name, this.columns.length);
    this.targets.add(this.fold(col.target));
    this.columns.push(col);
  }

  private targetName(name: string): string {
    const base = name.slice(0, this.ids.maxLength);
    let candidate = base;
    for (let k = 2; this.targets.has(this.fold(candidate)); k++) {
      const suffix = `_${k}`;
      candidate = base.slice(0, this.ids.maxLength - suffix.length) + suffix;
    }
    return candidate;
  }

  private fold(name: string): string {
    return this.ids.caseSensitive ? name : name.toLowerCase();
  }

  /**
   * A column's coercer. An inferred decimal bound by the destination (DECIMAL(38,9)) fails a value with more digits,
   * so the stream's policy decides (widen to text by default); a declared one is checked after coercion.
   */
  private coercerOf(c: Column): Coercer {
    const coerce = valueCoercer(c.type);
    const bound = this.bounds.decimal;
    if (c.type !== 'decimal' || c.declared || !bound) return coerce;
    return (raw) => {
      const v = coerce(raw);
      return v !== FAIL && typeof v === 'string' && decimalMisfit(v, bound.precision, bound.scale) ? FAIL : v;
    };
  }

  private rebuild(): void {
    this.coercers = this.columns.map((c) => this.coercerOf(c));
    this.canonical = this.columns.map((c) => (this.trusted.has(c.name) ? isCanonical(c.type) : undefined));
  }
}

const widenOrKeep = (a: ColumnType | undefined, b: ColumnType | undefined): ColumnType | undefined =>
  a === undefined ? b : b === undefined ? a : widen(a, b);

