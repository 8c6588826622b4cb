// Secrets never appear in logs, run records, DLQ payloads or error messages. Two mechanisms:
// 1. values registered as secrets (every interpolated ${VAR} whose name looks secret, every password/token key)
//    are replaced wherever they appear;
// 2. credentials inside URLs (`postgres://user:pw@host`) are masked by pattern.
// Values of a stream's `pii` columns seen in rejected rows are masked the same way (registerPersonal, core/pii.ts).

const secrets = new Set<string>();
const personal = new Set<string>();

/** Remember a value that must never be printed. Short values are ignored: masking "a" would mangle text. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value);
}

/** Remember a personal value (a `pii` column's) that must never be printed; short values are ignored, as for secrets. */
export function registerPersonal(value: string): void {
  if (value.length >= 4) personal.add(value);
}

/** Every value registered so far: a worker thread running a pipeline parsed here is handed them (orchestrate/run-threads.ts). */
export const registeredSecrets = (): string[] => [...secrets];

export const SECRET_KEY = /(pass(word)?|secret|token|api[_-]?key|credential|private[_-]?key|auth)/i;

const URL_CREDENTIALS = /([a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]*):([^@/?#\s]+)@/gi;

/** The passwords of the URLs in `text` (`postgres://user:pw@host` → `pw`): what redact() masks there. */
export function urlPasswords(text: string): string[] {
  return [...text.matchAll(URL_CREDENTIALS)].map((m) => m[2]);
}

/** `text` with secrets masked, and personal values too unless `withPersonal` is false (an encrypted DLQ payload keeps them). */
export function redact(text: string, withPersonal = true): string {
  let out = text.replace(URL_CREDENTIALS, '$1:***@');
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('***');
  if (withPersonal) for (const s of personal) if (out.includes(s)) out = out.split(s).join('***');
  return out;
}
