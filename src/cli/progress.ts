// A live progress display on a terminal: one line per stream with rows and rows/s, redrawn at most 10 times a second.
import type { StreamCounts } from '../core/types.js';
import { formatCount } from './summary.js';

export class Progress {
  private readonly streams = new Map<string, { counts: StreamCounts; started: number }>();
  private lines = 0;
  private last = 0;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(stream: string, counts: StreamCounts): void {
    const s = this.streams.get(stream) ?? { counts, started: performance.now() };
    s.counts = { ...counts };
    this.streams.set(stream, s);
    const now = performance.now();
    if (now - this.last > 100) {
      this.last = now;
      this.draw();
    }
  }

  stop(): void {
    if (this.streams.size) this.draw();
  }

  private draw(): void {
    const now = performance.now();
    const rows = [...this.streams].map(([name, s]) => {
      const rate = s.counts.extracted / Math.max((now - s.started) / 1000, 0.001);
      return `  ${name.padEnd(24)} ${formatCount(s.counts.extracted).padStart(12)} rows  ${formatCount(Math.round(rate)).padStart(10)} rows/s` +
        (s.counts.dead_lettered ? `  ${formatCount(s.counts.dead_lettered)} dead-lettered` : '');
    });
    // Move up over the previous frame and redraw it in place.
    const up = this.lines ? `\x1b[${this.lines}A` : '';
    this.out.write(up + rows.map((r) => `\x1b[2K${r}\n`).join(''));
    this.lines = rows.length;
  }
}
