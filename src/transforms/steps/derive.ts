// `derive: { total_with_tax: "total * 1.2", segment: "if(total > 1000, 'gold', 'std')" }`: new (or replaced)
// columns computed with the expression language, in order, so a later column may use an earlier one. A row whose
// expression fails (text where a number is needed, a division by zero) goes to the dead-letter queue.
import { z } from 'zod';
import { compileExpr } from '../../expr/compile.js';
import { defineStep, setColumn } from '../step.js';
import { boundTo, expressionText, reasonOf } from './expr-option.js';

export const deriveStep = defineStep<Record<string, string>>({
  kind: 'derive',
  description: 'Compute columns with expressions (see "Expressions"); a later column may use an earlier one. '
    + 'A row whose expression fails goes to the dead-letter queue with the reason.',
  options: z.record(z.string(), expressionText('Expression computing the column.')).describe('Column → expression.'),
  compile(mapping, env) {
    const entries = Object.entries(mapping).map(([name, text]) => ({ name, bind: boundTo(compileExpr(text, { run_id: env.runId })), owner: {} }));
    return {
      adds: entries.length,
      apply(frame) {
        for (const { name, bind, owner } of entries) {
          const evaluate = bind(frame);
          const rows = frame.values;
          const out = new Array<unknown>(rows.length);
          for (let i = 0; i < rows.length; i++) {
            try {
              out[i] = evaluate(rows[i]) ?? null;
            } catch (e) {
              frame.reject(i, `derive ${name}: ${reasonOf(e)}`);
              out[i] = null;
            }
          }
          setColumn(frame, owner, name, out);
        }
        return frame;
      },
      types(declared) {
        for (const e of entries) declared.delete(e.name);
      },
    };
  },
});
