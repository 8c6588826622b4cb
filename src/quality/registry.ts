// The check kinds, by name. A new kind is one file in checks/ and one line here.
import type { CheckSpec } from './check.js';
import { acceptedValuesCheck } from './checks/accepted-values.js';
import { expressionCheck } from './checks/expression.js';
import { freshnessCheck } from './checks/freshness.js';
import { notNullCheck } from './checks/not-null.js';
import { rangeCheck } from './checks/range.js';
import { regexCheck } from './checks/regex.js';
import { relationshipsCheck } from './checks/relationships.js';
import { rowCountCheck } from './checks/row-count.js';
import { typeCheck } from './checks/type.js';
import { uniqueCheck } from './checks/unique.js';
import { volumeCheck } from './checks/volume.js';

const SPECS: CheckSpec[] = [
  notNullCheck, uniqueCheck, acceptedValuesCheck, rangeCheck, regexCheck, typeCheck, relationshipsCheck, expressionCheck,
  freshnessCheck, rowCountCheck, volumeCheck,
];

const byKind = new Map(SPECS.map((s) => [s.kind, s]));

export const checkSpecs = (): CheckSpec[] => [...SPECS];
export const getCheckSpec = (kind: string): CheckSpec | undefined => byKind.get(kind);
