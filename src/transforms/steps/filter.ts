// `filter: "status != 'cancelled'"`: keep the rows where the expression is true. Rows where it is false or null
// are dropped and counted as filtered; a row where it fails goes to the dead-letter queue.
import { compileExpr } from '../../expr/compile.js';
import { defineStep } from '../step.js';
import { boundTo, expressionText, reasonOf } from './expr-option.js';

export const filterStep = defineStep<string>({
  kind: 'filter',
  description: 'Keep rows where the expression is true; false or null drops the row (counted as filtered).',
  options: expressionText('Condition a row must meet to be kept.'),
  compile(text, env) {
    const bind = boundTo(compileExpr(text, { run_id: env.runId }));
    return {
      apply(frame) {
        const evaluate = bind(frame);
        const rows = frame.values;
        for (let i = 0; i < rows.length; i++) {
          let v: unknown;
          try {
            v = evaluate(rows[i]);
          } catch (e) {
            frame.reject(i, `filter: ${reasonOf(e)}`);
            continue;
          }
          if (v === true) continue;
          if (v === false || v === null || v === undefined) frame.drop(i);
          else frame.reject(i, `filter: the condition gave ${JSON.stringify(v)}, expected true or false`);
        }
        return frame;
      },
    };
  },
});
