// The step kinds a pipeline may use, by name — one spec each (src/transforms/steps/). Validation, docs and the
// chain all read this list.
import type { StepSpec } from './step.js';
import { aggregateStep } from './steps/aggregate.js';
import { caseStep } from './steps/case.js';
import { castStep } from './steps/cast.js';
import { collapseStep } from './steps/collapse.js';
import { dedupeStep } from './steps/dedupe.js';
import { deriveStep } from './steps/derive.js';
import { dropStep } from './steps/drop.js';
import { filterStep } from './steps/filter.js';
import { flattenStep } from './steps/flatten.js';
import { goldenStep } from './steps/golden.js';
import { hashStep } from './steps/hash.js';
import { lookupStep } from './steps/lookup.js';
import { mapStep } from './steps/map.js';
import { maskStep } from './steps/mask.js';
import { nullifyStep } from './steps/nullify.js';
import { redactStep } from './steps/redact.js';
import { renameStep } from './steps/rename.js';
import { resolveStep } from './steps/resolve.js';
import { selectStep } from './steps/select.js';
import { trimStep } from './steps/trim.js';
import { batchStep, fnStep } from './steps/user.js';

const specs = new Map<string, StepSpec>();

export function registerStep(spec: StepSpec): void {
  specs.set(spec.kind, spec);
}

for (const s of [
  selectStep, dropStep, renameStep, mapStep, castStep, trimStep, caseStep, collapseStep, nullifyStep, dedupeStep,
  deriveStep, filterStep, lookupStep, aggregateStep, resolveStep, goldenStep, flattenStep, hashStep, maskStep, redactStep, fnStep,
  batchStep,
] as StepSpec[]) registerStep(s);

export const getStepSpec = (kind: string): StepSpec | undefined => (specs.has(kind) ? specs.get(kind) : undefined);

/** Every step kind, in registration order (the order the docs list them). */
export const stepSpecs = (): StepSpec[] => [...specs.values()];

/** Kinds written in TypeScript only: they take functions, which a YAML file cannot hold. */
export const CODE_ONLY_STEPS = new Set(['fn', 'batch']);
