// Key names. A row of table T is `<prefix><T>:<k1>:<k2>…`, its primary key values as text. In T and in each value `%`
// becomes `%25` and `:` becomes `%3A`, so ('a:b') and ('a', 'b') are different keys and no table's keys are a prefix of
// another's. Everything else (newlines, `*`, NUL, any Unicode) is kept: Redis keys are binary-safe.
//
// Sluice's own keys start `<prefix>:_sluice_`. A row key has an escaped, non-empty table name right after the prefix,
// which never begins with `:`, so no row key looks like one of them and a SCAN of a table never meets them:
//   <prefix>:_sluice_state:<pipeline>:<stream>          the stream's state (JSON), written in the rows' transaction
//   <prefix>:_sluice_stage:<T>:<run>:<k1>:<k2>…         a replace's (or gated load's) rows until they are moved in
//   <prefix>:_sluice_deletes:<T>:<run>                  a gated merge's deleted keys (a set of `<k1>:<k2>…`)
import { valueCoercer } from '../../core/values/coerce.js';

/** One part of a key: `%` and `:` escaped. */
export const keyPart = (s: string): string => s.replace(/[%:]/g, (c) => (c === '%' ? '%25' : '%3A'));

const asText = valueCoercer('text');

/** A primary key value as key text: its canonical text (`42`, `2024-05-01`, `true`), escaped. */
export const keyValue = (v: unknown): string => keyPart(asText(v) as string);

/** A SCAN MATCH pattern for keys that start with `literal`: glob characters escaped, then `*`. */
export const startsWith = (literal: string): string => `${literal.replace(/[*?[\]\\]/g, '\\$&')}*`;

export class RedisKeys {
  constructor(readonly prefix: string) {}

  /** What every row key of `table` starts with; the rest is the key values (`<k1>:<k2>…`). */
  table(table: string): string {
    return `${this.prefix}${keyPart(table)}:`;
  }

  state(pipeline: string, stream: string): string {
    return `${this.statePrefix(pipeline)}${keyPart(stream)}`;
  }

  /** What the state keys of a pipeline's streams start with. */
  statePrefix(pipeline: string): string {
    return `${this.prefix}:_sluice_state:${keyPart(pipeline)}:`;
  }

  /** What the staging keys of `table` start with: of one run, or (no run) of any. */
  stage(table: string, runId?: string): string {
    return `${this.prefix}:_sluice_stage:${keyPart(table)}:${runId === undefined ? '' : `${keyPart(runId)}:`}`;
  }

  /** The set of keys a gated merge deletes at its finish: of one run, or (no run) what those sets start with. */
  deletes(table: string, runId?: string): string {
    return `${this.prefix}:_sluice_deletes:${keyPart(table)}:${runId === undefined ? '' : keyPart(runId)}`;
  }
}
