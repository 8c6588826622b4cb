#!/usr/bin/env node
// `npm run s3-server`: a local S3-compatible server (s3rver) for the lake example and for trying `s3://` paths
// offline. Objects live under .sluice/s3/ (git-ignored); the bucket `lake` exists from the start. It accepts the
// access key S3RVER (any secret): export the printed variables in the shell that runs `sluice`.
import { mkdirSync } from 'node:fs';
import process from 'node:process';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
const port = Number(process.env.SLUICE_S3_PORT ?? 4568);
const directory = resolve(process.env.SLUICE_S3_DIR ?? '.sluice/s3');
mkdirSync(directory, { recursive: true });
const server = new S3rver({
  address: '127.0.0.1', port, silent: true, directory, configureBuckets: [{ name: 'lake', configs: [] }],
});
const { port: bound } = await server.run();
process.stdout.write(`S3-compatible server on http://127.0.0.1:${bound} (objects in ${directory}); bucket: lake
  export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 SLUICE_S3_ENDPOINT=http://127.0.0.1:${bound}\n`);
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close().then(() => process.exit(0)));
