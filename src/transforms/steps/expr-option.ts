// An expression option: text checked at validation (so a typo is a config error with the column of the bad token)
// and compiled once per stream.
import { z } from 'zod';
import { compileExpr, type Evaluator, type Expression } from '../../expr/compile.js';
import { ExprError } from '../../expr/tokenize.js';
import type { Frame } from '../frame.js';

export const expressionText = (what: string) => z.string().min(1).superRefine((text, ctx) => {
  try {
    compileExpr(text);
  } catch (e) {
    if (!(e instanceof ExprError)) throw e;
    ctx.addIssue({ code: 'custom', message: `invalid expression: ${e.message}` });
  }
}).describe(what);

/** An expression bound to the current row form of a frame: once per layout for columnar rows, once for objects. */
export function boundTo(expr: Expression): (frame: Frame) => Evaluator {
  const owner = {};
  let forObjects: Evaluator | undefined;
  return (frame) => (frame.layout
    ? frame.layout.plan(owner, (l) => expr.bind(l.resolver))
    : (forObjects ??= expr.bind(frame.resolver)));
}

export const reasonOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
