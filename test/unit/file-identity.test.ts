// Whether a file is the one state recorded: a local file by size and modification time, an object of a bucket by size
// and ETag (its Last-Modified changes when the same bytes are copied over it, and says nothing of the content).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planFile, progressOf, type FileEntry } from '../../src/connectors/file-source/files.js';

const local: FileEntry = { rel: 'data/a.csv', abs: '/p/data/a.csv', size: 10, mtimeMs: 1000 };
const object: FileEntry = { rel: 's3://lake/a.csv', abs: 's3://lake/a.csv', size: 10, mtimeMs: 1000, etag: 'e1' };

test('state keeps the ETag of an object only', () => {
  assert.deepEqual(progressOf(local, 3, true), { size: 10, mtimeMs: 1000, records: 3, done: true });
  assert.deepEqual(progressOf(object, 3, true), { size: 10, mtimeMs: 1000, etag: 'e1', records: 3, done: true });
});

test('a local file changes with its size or mtime; an object with its size or ETag, not its Last-Modified', () => {
  const done = (e: FileEntry) => progressOf(e, 3, true);
  assert.deepEqual(planFile(local, done(local)), { action: 'skip' });
  assert.deepEqual(planFile({ ...local, mtimeMs: 2000 }, done(local)), { action: 'read', skipRecords: 0, note: 'changed' });
  assert.deepEqual(planFile({ ...object, mtimeMs: 2000 }, done(object)), { action: 'skip' });
  assert.deepEqual(planFile({ ...object, etag: 'e2' }, done(object)), { action: 'read', skipRecords: 0, note: 'changed' });
  assert.deepEqual(planFile({ ...object, size: 11 }, done(object)), { action: 'read', skipRecords: 0, note: 'changed' });
  // Partly loaded: records already committed stay committed, whatever changed.
  assert.deepEqual(planFile({ ...object, etag: 'e2' }, progressOf(object, 2, false)), { action: 'read', skipRecords: 2, note: 'resumed-changed' });
  assert.deepEqual(planFile(object, progressOf(object, 2, false)), { action: 'read', skipRecords: 2 });
});
