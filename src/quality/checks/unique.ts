// `unique: [order_id]` — no two rows of the run share the key; `{ columns: [order_id], target: true }` also
// fails rows whose key is already in the target table (for append streams: a merge would update those rows).
import { z } from 'zod';
import { RunError, errorMessage } from '../../core/errors.js';
import { defineCheck, type Fail, scanCheck } from '../check.js';
import { KeySet } from './int-set.js';
import { collectKeys, nativeKey, rowKey, showKey } from './keys.js';

const columns = z.union([z.string().transform((s) => [s]), z.array(z.string()).min(1)]);
const options = z.union([
  columns.transform((c) => ({ columns: c, target: false })),
  z.strictObject({
    columns: columns.describe('Column(s) of the key.'),
    target: z.boolean().default(false).describe('Also fail rows whose key is already in the destination table (its keys are read into memory once per run). With severity error this is a dataset gate: one such row blocks the load.'),
  }),
]).describe('Key column(s), or `{ columns, target }`.');

export const uniqueCheck = defineCheck<z.output<typeof options>>({
  kind: 'unique',
  description: 'Fails every row whose key already appeared earlier in the run (the first occurrence passes), and with `target: true` rows whose key is in the target. Rows with a null key part pass.',
  level: 'row',
  options,
  compile(o, env) {
    // One column: members are the typed values themselves (see nativeKey); several: their joined key text.
    const single = o.columns.length === 1;
    const seen = new KeySet();
    let existing: { has(k: string | number): boolean } | undefined;
    const useTarget = o.target && env.targetKept;
    return scanCheck({
      label: `unique(${o.columns.join(', ')})`,
      columns: o.columns,
      consistency: true,
      gate: o.target,
      async prepare() {
        if (!useTarget) return;
        if (!env.readTable) throw new RunError(`check unique(${o.columns.join(', ')}) with target: true: the destination cannot be read back`, env.stream);
        try {
          const columns = o.columns.map(env.targetColumn);
          const rows = env.readTable(env.targetTable, columns);
          if (single) {
            const keys = new KeySet();
            existing = keys;
            for await (const batch of rows) {
              for (const r of batch) {
                const v = r[columns[0]];
                if (v !== null && v !== undefined) keys.add(nativeKey(v));
              }
            }
          } else {
            existing = await collectKeys(rows, columns);
          }
        } catch (e) {
          // A first run has no target table yet: nothing can clash with it.
          if (!/does not exist|not found|no such table|Catalog Error/i.test(errorMessage(e))) throw e;
          existing = new Set();
        }
      },
      scan(resolve) {
        const what = single ? `"${o.columns[0]}"` : `(${o.columns.join(', ')})`;
        const judge = (i: number, k: string | number, fail: Fail): void => {
          if (existing?.has(k)) fail(i, `key ${what} = ${showKey(String(k))} is already in the target`);
          else if (!seen.add(k)) fail(i, `key ${what} = ${showKey(String(k))} is duplicated in this run`);
        };
        if (!single) {
          const key = rowKey(o.columns.map(resolve));
          return (rows, fail) => {
            for (let i = 0; i < rows.length; i++) {
              const k = key(rows[i]);
              if (k !== null) judge(i, k, fail);
            }
          };
        }
        const at = resolve(o.columns[0]);
        return (rows, fail) => {
          if (at < 0) return;
          for (let i = 0; i < rows.length; i++) {
            const v = rows[i][at];
            if (v === null || v === undefined) continue;
            // The common key, a 32-bit id, straight into the set (what nativeKey gives it too).
            if (existing === undefined && typeof v === 'number' && (v | 0) === v) {
              if (!seen.add(v)) fail(i, `key ${what} = ${showKey(String(v))} is duplicated in this run`);
            } else {
              judge(i, nativeKey(v), fail);
            }
          }
        };
      },
    });
  },
});
