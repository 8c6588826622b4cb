// A side's rows one at a time from its pages, the next page fetched while this one is compared (./diff.ts, ./range-checksum.ts).

/** Rows of one side, one at a time, as the driver gave them; the next page is fetched while this one is compared. */
export class Rows {
  private readonly pages: AsyncIterator<unknown[][]>;
  private coming: Promise<IteratorResult<unknown[][]>> | undefined;
  private page: unknown[][] = [];
  private at = 0;

  constructor(pages: AsyncIterable<unknown[][]>) {
    this.pages = pages[Symbol.asyncIterator]();
  }

  async next(): Promise<unknown[] | undefined> {
    while (this.at >= this.page.length) {
      const r = await (this.coming ?? this.pages.next());
      this.coming = undefined;
      if (r.done) return undefined;
      this.page = r.value;
      this.at = 0;
      this.coming = this.pages.next();
      // A failure surfaces when the page is awaited; until then it must not count as unhandled.
      this.coming.catch(() => undefined);
    }
    return this.page[this.at++];
  }
}
