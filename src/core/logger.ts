// Structured logs (pino) to stderr: stdout belongs to `--json` and to command output.
import { pino } from 'pino';
import { redact } from './redact.js';

export type Logger = pino.Logger;

export function createLogger(level = process.env.SLUICE_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      level,
      base: undefined,
      // Secrets never reach a log line: every string that goes out passes through redact().
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redact(a) : a)) as Parameters<typeof method>);
        },
      },
      formatters: { log: (obj) => JSON.parse(redact(JSON.stringify(obj))) as Record<string, unknown> },
    },
    pino.destination({ fd: 2, sync: true }),
  );
}

/** A logger that drops everything (library use, tests). */
export const silentLogger = (): Logger => pino({ level: 'silent' });
