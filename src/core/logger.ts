// Structured logs (pino) to stderr: stdout belongs to `--json` and to command output.
import { pino } from 'pino';
import { redact } from './redact.js';

export type Logger = pino.Logger;

/** `destination`: where the JSON lines go (default stderr; a run thread sends them to the service's logger). */
export function createLogger(level = process.env.SLUICE_LOG_LEVEL ?? 'info', destination: pino.DestinationStream = pino.destination({ fd: 2, sync: true })): Logger {
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
    destination,
  );
}

/** A logger that drops everything (library use, tests). */
export const silentLogger = (): Logger => pino({ level: 'silent' });

/** Writes a line formatted elsewhere (a run thread's) where `logger` writes its own. */
export const writeLine = (logger: Logger, line: string): void => {
  (logger as unknown as Record<symbol, pino.DestinationStream>)[pino.symbols.streamSym].write(line);
};
