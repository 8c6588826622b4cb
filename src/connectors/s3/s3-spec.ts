// Where an S3-compatible store is and how to address it: one `s3:` block shared by the files destination and every
// file source, and the `s3://bucket/key` form their `path` takes. Credentials are never keys of a pipeline file: they
// come from the standard AWS chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, instance roles, …).
import { z } from 'zod';

export const s3Options = z.strictObject({
  endpoint: z.url().optional()
    .describe('Endpoint of an S3-compatible store (MinIO, Ceph, R2, GCS\'s S3 interface, a local server): `http://127.0.0.1:9000`. Default: AWS S3 of the region.'),
  region: z.string().min(1).optional()
    .describe('Region of the bucket. Default: `AWS_REGION`, then `us-east-1`. A bucket in another region fails the run with the region it is in.'),
  path_style: z.boolean().default(false)
    .describe('Address buckets as `endpoint/bucket/key` instead of `bucket.endpoint/key`: what most local and self-hosted stores need.'),
  // The keys are spelled out in the block's description: the generated reference does not expand nested mappings.
}).describe('S3-compatible store for `s3://` paths (the files destination\'s `path`, a file stream\'s `path` for every stream of the source). '
  + 'Keys: `endpoint` (URL of an S3-compatible store such as MinIO, Ceph, R2 or a local server; default AWS S3), `region` (of the bucket; default `AWS_REGION`, then us-east-1; a bucket elsewhere fails naming its region), `path_style` (boolean, default false: `endpoint/bucket/key` addressing, which most self-hosted stores need). '
  + 'Credentials come from the standard AWS environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or profile chain, never from the pipeline file.');

export type S3Options = z.output<typeof s3Options>;

export interface S3Location {
  bucket: string;
  /** Key or key prefix, without a leading slash ('' for the bucket's root). */
  key: string;
}

export const isS3Url = (path: string): boolean => /^s3:\/\//i.test(path);

/** `s3://bucket/some/prefix` → { bucket, key: 'some/prefix' }. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (!m) throw new Error(`"${url}" is not an s3://bucket/key URL`);
  return { bucket: m[1], key: m[2] };
}

export const s3Url = (loc: S3Location): string => `s3://${loc.bucket}/${loc.key}`;

/** Join key segments with single slashes. */
export const joinKey = (...parts: string[]): string => parts.filter((p) => p !== '').map((p) => p.replace(/^\/+|\/+$/g, '')).filter(Boolean).join('/');
