// The rows of one batch as transform steps see them. A batch read with a header (CSV) stays columnar: rows are
// arrays and a Layout says which array slot holds which column, so rename, select and drop only rewrite the layout
// (memoised per layout: once per distinct column set, not per batch), and value steps map slots by index. Object
// rows (JSON sources, user functions) are worked on by name. Rows a step rejects or filters are marked and removed
// together after the step; `origin` remembers where each row came from in the extracted batch, so a
// dead-lettered row keeps its source position.
import { setKey } from '../core/record.js';
import type { Row } from '../core/types.js';
import { arrayResolver, objectResolver, type Getter, type Resolver } from '../expr/compile.js';

/** Names of the columns of array rows and the slot each one reads. */
export class Layout {
  /** Column name → physical slot (the first column of that name wins). */
  readonly index = new Map<string, number>();
  readonly resolver: Resolver;
  /** Per-step memo: a step derives its plan (indexes, the next layout) once per layout. */
  private readonly memo = new Map<object, unknown>();

  constructor(
    readonly names: readonly string[],
    readonly slots: readonly number[],
    /** Physical row width: a new column goes in this slot. */
    readonly width: number,
  ) {
    names.forEach((n, i) => {
      if (!this.index.has(n)) this.index.set(n, slots[i]);
    });
    this.resolver = arrayResolver(this.index);
  }

  static of(columns: readonly string[]): Layout {
    return new Layout(columns, columns.map((_, i) => i), columns.length);
  }

  /** A plan a step computes once per layout (keyed by the step). */
  plan<T>(owner: object, make: (layout: Layout) => T): T {
    let p = this.memo.get(owner) as T | undefined;
    if (p === undefined) {
      p = make(this);
      this.memo.set(owner, p);
    }
    return p;
  }

  /** Slots of the named columns; names not in the layout are left out. */
  slotsOf(names: readonly string[] | '*'): number[] {
    if (names === '*') return [...new Set(this.slots)];
    return names.flatMap((n) => (this.index.has(n) ? [this.index.get(n)!] : []));
  }

  /** This layout plus a column (or the same layout when the column exists: it is overwritten in place). */
  withColumn(name: string): { layout: Layout; slot: number } {
    const slot = this.index.get(name);
    if (slot !== undefined) return { layout: this, slot };
    return { layout: new Layout([...this.names, name], [...this.slots, this.width], this.width + 1), slot: this.width };
  }

  /** True when rows can be handed on as they are (no slot reordered, dropped or duplicated). */
  get identity(): boolean {
    return this.names.length === this.width && this.slots.every((s, i) => s === i);
  }
}

export { setKey };

export interface FrameReject {
  /** Index in the extracted batch, or -1 for a row a step made (an aggregate). */
  origin: number;
  reason: string;
  /** The row as the rejecting step saw it, for rows without an origin. */
  row: Row;
}

const layouts = new WeakMap<readonly string[], Layout>();

export class Frame {
  /** Columnar form: the layout of `values`. Undefined in object form. */
  layout: Layout | undefined;
  values: unknown[][];
  rows: Row[];
  /** Index in the extracted batch of each row; undefined while it is the identity. */
  origin: number[] | undefined;
  /** Rows a step counted as filtered that are not in this frame (a dedupe replacing a held row). */
  filteredElsewhere = 0;
  private marks: Uint8Array | undefined;
  private reasons: Map<number, string> | undefined;

  private constructor(layout: Layout | undefined, values: unknown[][], rows: Row[], origin: number[] | undefined) {
    this.layout = layout;
    this.values = values;
    this.rows = rows;
    this.origin = origin;
  }

  static columnar(columns: readonly string[], values: unknown[][]): Frame {
    let layout = layouts.get(columns);
    if (!layout) {
      layout = Layout.of(columns);
      layouts.set(columns, layout);
    }
    return new Frame(layout, values, [], undefined);
  }

  static objects(rows: Row[], origin?: number[]): Frame {
    return new Frame(undefined, rows as unknown as unknown[][], rows, origin);
  }

  get length(): number {
    return this.layout ? this.values.length : this.rows.length;
  }

  /** Getter of a column for the current form. */
  getter(name: string): Getter {
    return this.layout ? this.layout.resolver(name) : objectResolver(name);
  }

  get resolver(): Resolver {
    return this.layout ? this.layout.resolver : objectResolver;
  }

  /** Row `i` as an object (for the DLQ and for steps that need objects). */
  rowAt(i: number): Row {
    if (!this.layout) return this.rows[i];
    const { names, slots } = this.layout;
    const v = this.values[i];
    const row: Row = {};
    for (let k = 0; k < names.length; k++) if (!Object.hasOwn(row, names[k])) setKey(row, names[k], v[slots[k]] ?? null);
    return row;
  }

  /** Switch to object form (a user function, a nested map, an aggregate's output). */
  toObjects(): this {
    if (this.layout) {
      const rows = new Array<Row>(this.values.length);
      for (let i = 0; i < rows.length; i++) rows[i] = this.rowAt(i);
      this.rows = rows;
      this.values = rows as unknown as unknown[][];
      this.layout = undefined;
    }
    return this;
  }

  originOf(i: number): number {
    return this.origin ? this.origin[i] : i;
  }

  /** Row `i` goes to the dead-letter queue with `reason` (removed after the step). */
  reject(i: number, reason: string): void {
    const marks = (this.marks ??= new Uint8Array(this.length));
    // The first failure is the reason: later ones are often its consequences.
    if (marks[i] === 2) return;
    marks[i] = 2;
    (this.reasons ??= new Map()).set(i, reason);
  }

  /** Row `i` is dropped and counted as filtered (removed after the step). */
  drop(i: number): void {
    const marks = (this.marks ??= new Uint8Array(this.length));
    if (marks[i] === 0) marks[i] = 1;
  }

  /** Row `i` is taken out of the flow without being counted: a blocking step holds it and emits it later. */
  hold(i: number): void {
    (this.marks ??= new Uint8Array(this.length))[i] = 3;
  }

  /** Remove marked rows; returns how many were filtered and the rejects. */
  compact(): { filtered: number; rejects: FrameReject[] } {
    const marks = this.marks;
    let filtered = this.filteredElsewhere;
    this.filteredElsewhere = 0;
    if (!marks) return { filtered, rejects: [] };
    const rejects: FrameReject[] = [];
    const list = this.layout ? this.values : this.rows;
    const keep: any[] = [];
    const origin: number[] = [];
    for (let i = 0; i < list.length; i++) {
      if (marks[i] === 0) {
        keep.push(list[i]);
        origin.push(this.originOf(i));
      } else if (marks[i] === 1) filtered++;
      else if (marks[i] === 2) {
        const o = this.originOf(i);
        rejects.push({ origin: o, reason: this.reasons!.get(i)!, row: o < 0 ? this.rowAt(i) : {} });
      }
    }
    if (this.layout) this.values = keep;
    else this.rows = this.values = keep;
    this.origin = origin;
    this.marks = undefined;
    this.reasons = undefined;
    return { filtered, rejects };
  }

  /** Append another frame's rows (both end up as objects). */
  concat(other: Frame): Frame {
    this.toObjects();
    other.toObjects();
    const origin = [...Array.from({ length: this.rows.length }, (_, i) => this.originOf(i)), ...Array.from({ length: other.rows.length }, (_, i) => other.originOf(i))];
    return Frame.objects([...this.rows, ...other.rows], origin);
  }
}
