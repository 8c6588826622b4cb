// Errors that tell the runner and the user what to do. The CLI maps each class to an exit code in one place
// (src/cli/exit-codes.ts); nothing else inspects messages.

/** Invalid configuration or usage: exit 2, before any work. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    message: string,
    readonly details: { file?: string; line?: number; column?: number; path?: string; expected?: string; suggestion?: string } = {},
  ) {
    super(message);
  }

  /** `pipeline.yaml:12:5 sources[0].streams[0].wirte: unknown key (did you mean "write"?)` */
  override toString(): string {
    const d = this.details;
    const where = [d.file, d.line, d.column].filter((x) => x !== undefined).join(':');
    return [where, d.path, this.message].filter(Boolean).join(' ');
  }
}

/** The run cannot proceed (missing file, unreachable server, policy `fail`): exit 1, run recorded as failed. */
export class RunError extends Error {
  override name = 'RunError';
  constructor(message: string, readonly stream?: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The destination refused a value of some row while loading (a constraint, a range, a type it converts to): the
 * load failed, but row by row (LoadTarget.isolateRows) the offending rows can be found and dead-lettered instead.
 * `reason` is what the destination said, fit for a DLQ entry.
 */
export class RowValueError extends RunError {
  override name = 'RowValueError';
  constructor(message: string, stream: string | undefined, readonly reason: string, options?: { cause?: unknown }) {
    super(message, stream, options);
  }
}

/** `err`, or — when the destination refused a row's value (`reason`, from the server's own error) — a RowValueError. */
export function refusedOr(err: Error, reason: string | undefined, stream: string | undefined, cause: unknown): Error {
  return reason === undefined || err instanceof RowValueError ? err : new RowValueError(err.message, stream, reason, { cause });
}

/** Another run of the same pipeline holds the lock. */
export class LockedError extends RunError {
  override name = 'LockedError';
}

/** Worth retrying (connection reset, 5xx, lock timeout). Retry wrappers look at this, never at messages. */
export class TransientError extends Error {
  override name = 'TransientError';
  constructor(message: string, readonly retryAfterMs?: number, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
