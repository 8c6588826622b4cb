// `expression: "total >= 0 or status = 'refund'"`: a custom rule in the transforms' expression language (parsed by
// our own parser, never eval). True passes; false fails; null passes, as an SQL CHECK constraint does, so a rule
// about optional columns need not spell out `x is null or …`.
import { z } from 'zod';
import { compileExpr } from '../../expr/compile.js';
import { ExprError } from '../../expr/tokenize.js';
import { defineCheck, scanCheck } from '../check.js';

const options = z.string().min(1).superRefine((text, ctx) => {
  try {
    compileExpr(text);
  } catch (e) {
    if (!(e instanceof ExprError)) throw e;
    ctx.addIssue({ code: 'custom', message: `invalid expression: ${e.message}` });
  }
}).describe('A condition every row must meet, in the expression language of `derive`/`filter` (see "Transform steps").');

export const expressionCheck = defineCheck<string>({
  kind: 'expression',
  description: 'Fails a row where the expression is false or cannot be evaluated; null passes.',
  level: 'row',
  options,
  compile(text) {
    const expr = compileExpr(text);
    const isFalse = `expression "${text}" is false`;
    return scanCheck({
      label: `expression(${text})`,
      columns: expr.columns,
      scan(resolve) {
        const evaluate = expr.bind((name) => {
          const at = resolve(name);
          return at < 0 ? () => null : (row: unknown[]) => row[at];
        });
        return (rows, fail) => {
          for (let i = 0; i < rows.length; i++) {
            let v: unknown;
            try {
              v = evaluate(rows[i]);
            } catch (e) {
              fail(i, `expression "${text}" failed: ${e instanceof Error ? e.message : String(e)}`);
              continue;
            }
            if (v === false) fail(i, isFalse);
          }
        };
      },
    });
  },
});
