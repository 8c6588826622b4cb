// Map an async sequence through an async function with at most `concurrency` calls running, yielding results in input
// order. Memory is bounded by `concurrency` pending results, whatever the input length.

export async function* orderedMap<T, R>(
  input: AsyncIterable<T>, fn: (item: T) => Promise<R>, concurrency: number, signal?: AbortSignal,
): AsyncGenerator<{ input: T; output: R }> {
  const it = input[Symbol.asyncIterator]();
  const pending: { input: T; output: Promise<R> }[] = [];
  let exhausted = false;
  try {
    while (true) {
      while (!exhausted && pending.length < Math.max(1, concurrency)) {
        signal?.throwIfAborted();
        const n = await it.next();
        if (n.done) {
          exhausted = true;
          break;
        }
        const output = fn(n.value);
        output.catch(() => undefined); // awaited in order below
        pending.push({ input: n.value, output });
      }
      const head = pending.shift();
      if (!head) return;
      yield { input: head.input, output: await head.output };
    }
  } finally {
    await it.return?.(undefined);
  }
}
