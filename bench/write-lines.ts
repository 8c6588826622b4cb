// A generated bench file, written once and cached: `line(n)` for n = 1..rows after the header, streamed in chunks of
// 10,000 lines with backpressure, into a temporary name renamed at the end (an interrupted run leaves no half file).
import { createWriteStream, existsSync, renameSync } from 'node:fs';

export async function writeLines(file: string, header: string, rows: number, line: (n: number) => string): Promise<void> {
  if (existsSync(file)) return;
  const out = createWriteStream(file + '.tmp');
  out.write(`${header}\n`);
  let chunk = '';
  for (let n = 1; n <= rows; n++) {
    chunk += `${line(n)}\n`;
    if (n % 10_000 === 0) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      chunk = '';
    }
  }
  out.write(chunk);
  await new Promise<void>((r) => out.end(() => r()));
  renameSync(file + '.tmp', file);
}
