// Steps written in TypeScript (definePipeline only): `{ fn: (row) => row | null | row[] }` per row, or
// `{ batch: (rows) => rows }` for the whole batch. A function that throws sends the row (or the batch's rows) to the
// dead-letter queue with its message; returning null drops the row (counted as filtered).
import { z } from 'zod';
import type { Row } from '../../core/types.js';
import { Frame } from '../frame.js';
import { defineStep } from '../step.js';
import { reasonOf } from './expr-option.js';

export type RowFunction = (row: Row) => Row | null | undefined | Row[];
export type BatchFunction = (rows: Row[]) => Row[] | Promise<Row[]>;

const fnOption = <F>(what: string) => z.custom<F>((v) => typeof v === 'function', { message: 'expected a function (TypeScript API only)' }).describe(what);

export const fnStep = defineStep<RowFunction>({
  kind: 'fn',
  description: 'TypeScript API only: a function over each row returning the row, null (drop it) or several rows.',
  options: fnOption<RowFunction>('(row) => row | null | row[]'),
  compile(fn) {
    return {
      apply(frame) {
        frame.toObjects();
        const out: Row[] = [];
        const origin: number[] = [];
        let filtered = 0;
        const rejects: number[] = [];
        const reasons: string[] = [];
        for (let i = 0; i < frame.rows.length; i++) {
          let r: ReturnType<RowFunction>;
          try {
            r = fn(frame.rows[i]);
          } catch (e) {
            rejects.push(out.length);
            reasons.push(`fn: ${reasonOf(e)}`);
            out.push(frame.rows[i]);
            origin.push(frame.originOf(i));
            continue;
          }
          if (r === null || r === undefined) filtered++;
          else for (const row of Array.isArray(r) ? r : [r]) {
            out.push(row);
            origin.push(frame.originOf(i));
          }
        }
        const next = Frame.objects(out, origin);
        next.filteredElsewhere = frame.filteredElsewhere + filtered;
        rejects.forEach((at, k) => next.reject(at, reasons[k]));
        return next;
      },
      types(declared) {
        declared.clear();
      },
    };
  },
});

export const batchStep = defineStep<BatchFunction>({
  kind: 'batch',
  description: 'TypeScript API only: a function over a batch\'s rows returning the rows to keep (may be async).',
  options: fnOption<BatchFunction>('(rows) => rows'),
  compile(fn) {
    return {
      async apply(frame) {
        frame.toObjects();
        const before = frame.rows.length;
        let rows: Row[];
        try {
          rows = await fn([...frame.rows]);
        } catch (e) {
          // The function failed on the batch as a whole: every row of it goes to the dead-letter queue.
          for (let i = 0; i < before; i++) frame.reject(i, `batch: ${reasonOf(e)}`);
          return frame;
        }
        // Same length: rows line up with their sources; otherwise where each came from is unknown.
        const origin = rows.length === before ? Array.from({ length: before }, (_, i) => frame.originOf(i)) : new Array(rows.length).fill(-1);
        const next = Frame.objects(rows, origin);
        next.filteredElsewhere = frame.filteredElsewhere + Math.max(before - rows.length, 0);
        return next;
      },
      types(declared) {
        declared.clear();
      },
    };
  },
});
