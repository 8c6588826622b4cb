// `freshness: { column: updated_at, max_age: 2d }`: the newest value of the column is recent; without `column`, the
// stream's cursor (the age of the newest cursor value, the usual meaning of freshness).
import { z } from 'zod';
import { RunError } from '../../core/errors.js';
import { defineCheck } from '../check.js';
import { duration, showAge } from '../measures.js';

const options = z.strictObject({
  column: z.string().optional().describe('A date or timestamp column; default: the stream\'s `cursor`.'),
  max_age: duration('Oldest the newest value may be: a number and a unit, s m h d w (`2d`, `36h`).'),
});

const epoch = (v: unknown): number => (v instanceof Date ? v.getTime() : typeof v === 'number' ? v : typeof v === 'string' ? Date.parse(v) : NaN);

export const freshnessCheck = defineCheck<z.output<typeof options>>({
  kind: 'freshness',
  description: 'Dataset check: fails when the newest value of the column in this run is older than `max_age` (or when there is none). With severity error it is a gate.',
  level: 'dataset',
  options,
  compile(o, env) {
    const column = o.column ?? env.cursor;
    if (!column) throw new RunError(`check freshness: the stream ${env.stream} has no cursor; give the check a \`column\``, env.stream);
    const { max_age } = o;
    let newest = -Infinity;
    return {
      label: `freshness(${column})`,
      columns: [column],
      gate: true,
      observe(resolve) {
        const at = resolve(column);
        return (row) => {
          if (at < 0) return;
          const v = row[at];
          if (v === null || v === undefined) return;
          const t = epoch(v);
          if (t > newest) newest = t;
        };
      },
      verdict({ now }) {
        const limit = `max_age ${max_age.text}`;
        if (newest === -Infinity) return { ok: false, measured: 'no values', limit, timeliness: 0 };
        const age = now.getTime() - newest;
        return {
          ok: age <= max_age.ms, measured: `age ${showAge(age)} (newest ${new Date(newest).toISOString()})`, limit,
          timeliness: age <= max_age.ms ? 1 : max_age.ms / age,
        };
      },
    };
  },
});
