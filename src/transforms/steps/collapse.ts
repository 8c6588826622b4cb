// `collapse: [a]` or `collapse: "*"`: runs of whitespace (spaces, tabs, newlines, NBSP) become one space; trimmed.
import { columnList, defineStep, type Columns } from '../step.js';
import { needsCollapse } from '../text.js';
import { mapText } from './trim.js';

const RUNS = /\s+/g;

export const collapseStep = defineStep<Columns>({
  kind: 'collapse',
  description: 'Collapse runs of whitespace inside text values to one space, and trim them.',
  options: columnList('collapse whitespace in'),
  compile(columns) {
    const owner = {};
    return { apply: (frame) => (mapText(frame, owner, columns, (s) => (needsCollapse(s) ? s.replace(RUNS, ' ').trim() : s)), frame) };
  },
});
