// The S3 store against a real S3-compatible server on loopback: uploads large enough to go in parts, listing,
// copies, deletes, and the errors a user meets — a missing bucket, a bucket in another region, a bucket that denies
// writes, wrong credentials — each said plainly, without the secret.
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3Store } from '../../src/connectors/s3/s3-store.js';
import { startS3Server, type S3Server } from '../support/s3-server.js';

describe('S3 store', () => {
  let server: S3Server;
  let dir: string;
  const saved = { ...process.env };
  before(async () => {
    server = await startS3Server({ buckets: ['lake', 'eu-lake', 'locked'], regions: { 'eu-lake': 'eu-west-1' }, readOnly: ['locked'] });
    Object.assign(process.env, server.env);
    dir = mkdtempSync(join(tmpdir(), 'sluice-s3-store-'));
  });
  after(async () => {
    process.env = saved;
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const open = (bucket: string, region?: string) => S3Store.open(bucket, { endpoint: server.endpoint, path_style: true, region });

  it('uploads a file in parts, lists, copies, reads and deletes', async () => {
    const store = await open('lake');
    const file = join(dir, 'big.bin');
    const big = Buffer.alloc(20 * 1024 * 1024 + 17, 7);
    big.write('head', 0);
    writeFileSync(file, big);
    await store.upload('t/_staging/run1/part-1.bin', file);
    await store.copy('t/_staging/run1/part-1.bin', 't/a=x y/part-1.bin');
    const listed = [];
    for await (const o of store.list('t/')) listed.push(o);
    assert.deepEqual(listed.map((o) => o.key).sort(), ['t/_staging/run1/part-1.bin', 't/a=x y/part-1.bin']);
    assert.equal(listed[0].size, big.length);
    assert.ok(listed[0].etag.length > 0);
    const head = await store.read('t/a=x y/part-1.bin', { range: 'bytes=0-3' });
    let text = '';
    for await (const c of head as AsyncIterable<Buffer>) text += c.toString();
    assert.equal(text, 'head');
    await store.remove(['t/_staging/run1/part-1.bin', 'gone']);
    const left = [];
    for await (const o of store.list('t/')) left.push(o.key);
    assert.deepEqual(left, ['t/a=x y/part-1.bin']);
    assert.equal(await store.readText('t/nothing.json'), undefined);
    store.close();
  });

  it('says which bucket is missing, which region a bucket is in, and who refused a write', async () => {
    const missing = await open('nope');
    await assert.rejects(missing.check(), /cannot reach bucket "nope" at http:\/\/127\.0\.0\.1:\d+: bucket "nope" does not exist/);
    missing.close();
    const eu = await open('eu-lake', 'us-east-1');
    await assert.rejects(eu.check(), /bucket is in region "eu-west-1", not "us-east-1": set s3.region: eu-west-1/);
    await assert.rejects(eu.writeText('x.json', '{}'), /region "eu-west-1"/);
    eu.close();
    const euRight = await open('eu-lake', 'eu-west-1');
    await euRight.check();
    await euRight.writeText('x.json', '{}');
    euRight.close();
    const locked = await open('locked');
    await locked.check();
    await assert.rejects(locked.writeText('x.json', '{}'), /cannot write s3:\/\/locked\/x\.json at .*: access denied/);
    locked.close();
  });

  it('reports credentials the store does not know without printing the secret', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'SOMEONE-ELSE';
    process.env.AWS_SECRET_ACCESS_KEY = 'wrong-secret-value';
    try {
      const store = await open('lake');
      const err = await store.writeText('x.json', '{}').then(() => undefined, (e: Error) => e);
      assert.ok(err);
      assert.match(err.message, /the store rejected the credentials/);
      assert.doesNotMatch(err.message, /wrong-secret-value/);
      store.close();
    } finally {
      Object.assign(process.env, server.env);
    }
  });
});
