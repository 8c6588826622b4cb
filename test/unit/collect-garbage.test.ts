// A full collection on demand (src/core/collect-garbage.ts): what was dropped is gone once it returns, without
// --expose-gc on the command line, and it can be asked for again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collectGarbage } from '../../src/core/collect-garbage.js';

// A WeakRef's target lives at least to the end of the job that made or read it: each check runs in a job of its own.
const nextJob = () => new Promise((r) => setImmediate(r));

test('collectGarbage frees what is no longer referenced, on demand and more than once', async () => {
  let held: string[][] | undefined = Array.from({ length: 200 }, (_, i) => Array.from({ length: 1_000 }, (_, j) => `row ${i} value ${j}`));
  const dropped = new WeakRef(held);
  await nextJob();
  collectGarbage();
  assert.ok(dropped.deref(), 'still referenced: kept');
  await nextJob();
  held = undefined;
  collectGarbage();
  assert.equal(dropped.deref(), undefined, 'dropped: collected by the call, not later');
  assert.equal(held, undefined);
  const again = new WeakRef({ big: new Array(100_000).fill('x') });
  await nextJob();
  collectGarbage();
  assert.equal(again.deref(), undefined);
});
