// `trim: [a, b]` or `trim: "*"`: strip leading and trailing whitespace of text values.
import type { Frame } from '../frame.js';
import { columnList, defineStep, mapValues, type Columns } from '../step.js';
import { trimText } from '../text.js';

/** Apply a text function to the text values of some columns (other types pass unchanged). */
export function mapText(frame: Frame, owner: object, columns: Columns, fn: (s: string) => string): void {
  mapValues(frame, owner, columns, (v) => (typeof v === 'string' ? fn(v) : v));
}

export const trimStep = defineStep<Columns>({
  kind: 'trim',
  description: 'Strip leading and trailing whitespace from text values.',
  options: columnList('trim'),
  compile(columns) {
    const owner = {};
    return { apply: (frame) => (mapText(frame, owner, columns, trimText), frame) };
  },
});
