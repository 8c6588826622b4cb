// Counters, gauges and histograms rendered in the Prometheus text format. prom-client renders 80,000 histogram lines
// (1,000 pipelines × 6 phases) in about 350 ms, past a scrape's budget; here each histogram series keeps its text
// from the last scrape until it is observed again (between two scrapes few pipelines run), so a scrape is mostly a
// join. prom-client still supplies the process metrics (metrics.ts).

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labelText = (names: readonly string[], values: readonly string[]): string =>
  names.map((n, i) => `${n}="${escapeLabel(values[i])}"`).join(',');
const num = (v: number): string => (Number.isFinite(v) ? String(v) : v > 0 ? '+Inf' : v < 0 ? '-Inf' : 'NaN');

abstract class Family<S> {
  protected readonly series = new Map<string, { labels: string; value: S }>();

  constructor(readonly name: string, private readonly help: string, private readonly type: string, protected readonly labelNames: readonly string[]) {}

  protected get(values: readonly string[], init: () => S): S {
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (!s) {
      s = { labels: labelText(this.labelNames, values), value: init() };
      this.series.set(key, s);
    }
    return s.value;
  }

  render(out: string[]): void {
    out.push(`# HELP ${this.name} ${this.help}\n# TYPE ${this.name} ${this.type}\n`);
    this.lines(out);
  }

  protected abstract lines(out: string[]): void;
}

export class CounterFamily extends Family<{ v: number }> {
  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, 'counter', labelNames);
  }

  inc(values: readonly string[], by = 1): void {
    this.get(values, () => ({ v: 0 })).v += by;
  }

  protected lines(out: string[]): void {
    for (const { labels, value } of this.series.values()) out.push(`${this.name}{${labels}} ${num(value.v)}\n`);
  }
}

/** A gauge whose series are set afresh at each scrape by `collect`. */
export class GaugeFamily extends Family<{ v: number; seen: number }> {
  private scrape = 0;

  constructor(name: string, help: string, labelNames: readonly string[], private readonly collect: (set: (values: readonly string[], v: number) => void) => void) {
    super(name, help, 'gauge', labelNames);
  }

  protected lines(out: string[]): void {
    // Series kept from scrape to scrape (their label text is made once); one not set this time is gone.
    const seen = ++this.scrape;
    this.collect((values, v) => {
      const s = this.get(values, () => ({ v: 0, seen }));
      s.v = v;
      s.seen = seen;
    });
    for (const [key, { labels, value }] of this.series) {
      if (value.seen !== seen) this.series.delete(key);
      else out.push(`${this.name}${labels ? `{${labels}}` : ''} ${num(value.v)}\n`);
    }
  }
}

export class HistogramFamily extends Family<{ counts: number[]; sum: number; count: number; bucketLabels: string[]; text?: string }> {
  constructor(name: string, help: string, labelNames: readonly string[], private readonly buckets: readonly number[]) {
    super(name, help, 'histogram', labelNames);
  }

  observe(values: readonly string[], v: number): void {
    const s = this.get(values, () => {
      const base = labelText(this.labelNames, values);
      const sep = base ? ',' : '';
      return {
        counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0,
        bucketLabels: [...this.buckets.map((b) => `${base}${sep}le="${b}"`), `${base}${sep}le="+Inf"`],
      };
    });
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) s.counts[i]++;
    s.sum += v;
    s.count++;
    s.text = undefined;
  }

  protected lines(out: string[]): void {
    for (const { labels, value: s } of this.series.values()) {
      if (s.text === undefined) {
        const braces = labels ? `{${labels}}` : '';
        let text = '';
        for (let i = 0; i < this.buckets.length; i++) text += `${this.name}_bucket{${s.bucketLabels[i]}} ${s.counts[i]}\n`;
        s.text = text + `${this.name}_bucket{${s.bucketLabels[this.buckets.length]}} ${s.count}\n${this.name}_sum${braces} ${num(s.sum)}\n${this.name}_count${braces} ${s.count}\n`;
      }
      out.push(s.text);
    }
  }
}
