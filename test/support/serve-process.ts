// `sluice serve` as a real process for the serve tests: started on a free port with a token file (`tokens.txt` in its
// directory), its stderr kept, its API's URL once it says it; and a client for that API with the token.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { sluiceBin } from '../helpers.js';

export const TOKEN = 'test-token-0123456789abcdef';

export function serve(
  dir: string, home: string, name: string, extra: string[] = [], env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; url: Promise<string>; log: () => string } {
  const child = spawn(process.execPath, [sluiceBin, 'serve', dir, '--port', '0', '--lease', '2s', '--token-file', join(dir, 'tokens.txt'), ...extra], {
    env: { ...process.env, SLUICE_HOME: home, SLUICE_LOG_LEVEL: 'info', SLUICE_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const url = new Promise<string>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /API on (http:\/\/[^\s]+)/.exec(log);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${log}`)));
  });
  return { child, url, log: () => log };
}

export const api = async (url: string, path: string, init: RequestInit & { token?: string | null } = {}) => {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string> ?? {}) };
  if (init.token !== null) headers.authorization = `Bearer ${init.token ?? TOKEN}`;
  const res = await fetch(url + path, { ...init, headers });
  const text = await res.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* metrics are text */ }
  return { status: res.status, body: body as any, text };
};
