// One bucket of an S3-compatible store, through the AWS SDK v3: listing, streamed reads, multipart uploads from a
// local file (bounded memory: a few parts in flight), server-side copies and deletes. Every failure becomes a
// RunError that says what could not be done to which object and what to check — never the credentials.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { RunError, errorMessage } from '../../core/errors.js';
import { registerSecret } from '../../core/redact.js';
import type { S3Location, S3Options } from './s3-spec.js';
import { s3Url } from './s3-spec.js';

export interface S3Object {
  key: string;
  size: number;
  etag: string;
  lastModified: number;
}

type Sdk = typeof import('@aws-sdk/client-s3');

/** 8 MB parts, 4 in flight: at most ~32 MB of an upload in memory whatever the file's size. */
const PART_BYTES = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;

export class S3Store {
  private constructor(
    private readonly sdk: Sdk,
    private readonly client: S3Client,
    readonly bucket: string,
    private readonly region: string,
    private readonly where: string,
  ) {}

  /** The client for `bucket`, created on first use (the SDK is loaded only by pipelines that use S3). */
  static async open(bucket: string, options: Partial<S3Options> | undefined): Promise<S3Store> {
    // On Node 20 the SDK warns on every process that its releases after January 2027 will need Node 22: the versions
    // package-lock.json pins are not those, and the warning would sit in the middle of every command's output.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const sdk = await import('@aws-sdk/client-s3');
    // Whatever the chain finds in the environment must never be printed.
    registerSecret(process.env.AWS_SECRET_ACCESS_KEY);
    registerSecret(process.env.AWS_SESSION_TOKEN);
    const region = options?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    const client = new sdk.S3Client({
      region,
      ...(options?.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options?.path_style ?? false,
      // Checksums only when the operation requires them: stores other than AWS (and older MinIO/Ceph) reject the
      // newer default trailers.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 4,
    });
    return new S3Store(sdk, client, bucket, region, options?.endpoint ?? 'AWS S3');
  }

  /** Fail early, with the reason, when the bucket is missing, elsewhere, or closed to these credentials. */
  async check(): Promise<void> {
    try {
      await this.client.send(new this.sdk.HeadBucketCommand({ Bucket: this.bucket }));
    } catch (e) {
      throw this.failure(e, 'reach', { bucket: this.bucket, key: '' });
    }
  }

  async *list(prefix: string): AsyncGenerator<S3Object> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new this.sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (e) {
        throw this.failure(e, 'list', { bucket: this.bucket, key: prefix });
      }
      for (const o of page.Contents ?? []) {
        if (o.Key === undefined) continue;
        yield { key: o.Key, size: o.Size ?? 0, etag: (o.ETag ?? '').replace(/"/g, ''), lastModified: o.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** The "directories" right under `prefix` (`prefix/<name>/…`): their names, one listing page per 1,000. */
  async *dirs(prefix: string): AsyncGenerator<string> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new this.sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
      } catch (e) {
        throw this.failure(e, 'list', { bucket: this.bucket, key: prefix });
      }
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) yield p.Prefix.slice(prefix.length, -1);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** The object's bytes as a stream (`range` as in HTTP: `bytes=0-1`); undefined when there is no such key. */
  async read(key: string, options: { range?: string; signal?: AbortSignal; missingOk?: boolean } = {}): Promise<Readable | undefined> {
    try {
      const out = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.bucket, Key: key, Range: options.range }), { abortSignal: options.signal });
      return out.Body as Readable;
    } catch (e) {
      if (options.missingOk && errorName(e) === 'NoSuchKey') return undefined;
      throw this.failure(e, 'read', { bucket: this.bucket, key });
    }
  }

  async readText(key: string): Promise<string | undefined> {
    const body = await this.read(key, { missingOk: true });
    if (!body) return undefined;
    const chunks: Buffer[] = [];
    for await (const c of body as AsyncIterable<Buffer>) chunks.push(c);
    return Buffer.concat(chunks).toString('utf8');
  }

  async writeText(key: string, text: string): Promise<void> {
    try {
      await this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: text, ContentType: 'application/json' }));
    } catch (e) {
      throw this.failure(e, 'write', { bucket: this.bucket, key });
    }
  }

  /**
   * Upload a local file: one PUT streamed from the file when it fits a part, in parts otherwise (the multiple-part
   * upload reads a whole part into memory first, which a small file need not pay). An abort leaves no object.
   */
  async upload(key: string, file: string, signal?: AbortSignal): Promise<void> {
    const { size } = await stat(file);
    if (size < PART_BYTES) {
      try {
        await this.client.send(new this.sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: createReadStream(file), ContentLength: size }), { abortSignal: signal });
      } catch (e) {
        throw this.failure(e, 'write', { bucket: this.bucket, key });
      }
      return;
    }
    const { Upload } = await import('@aws-sdk/lib-storage');
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: createReadStream(file) },
      partSize: PART_BYTES,
      queueSize: PARTS_IN_FLIGHT,
      leavePartsOnError: false,
    });
    const onAbort = (): void => void upload.abort().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (e) {
      throw this.failure(e, 'write', { bucket: this.bucket, key });
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async copy(from: string, to: string): Promise<void> {
    try {
      await this.client.send(new this.sdk.CopyObjectCommand({
        Bucket: this.bucket, Key: to, CopySource: copySource(this.bucket, from),
      }));
    } catch (e) {
      throw this.failure(e, 'copy', { bucket: this.bucket, key: from });
    }
  }

  /** Delete keys, 1,000 a request (the API's limit); a key already gone is no error. */
  async remove(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      let out;
      try {
        out = await this.client.send(new this.sdk.DeleteObjectsCommand({
          Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
        }));
      } catch (e) {
        throw this.failure(e, 'delete', { bucket: this.bucket, key: batch[0] });
      }
      const failed = out.Errors?.[0];
      if (failed) {
        throw this.failure({ name: failed.Code, message: failed.Message }, 'delete', { bucket: this.bucket, key: failed.Key ?? batch[0] });
      }
    }
  }

  close(): void {
    this.client.destroy();
  }

  /** What went wrong, in the store's terms and what to change; the SDK's own message only as a last resort. */
  failure(e: unknown, action: string, loc: S3Location): RunError {
    const name = errorName(e);
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    const where = action === 'reach' ? `bucket "${loc.bucket}" at ${this.where}` : `${s3Url(loc)} at ${this.where}`;
    const otherRegion = bucketRegion(e);
    let why: string;
    if (otherRegion && otherRegion !== this.region) {
      why = `the bucket is in region "${otherRegion}", not "${this.region}": set s3.region: ${otherRegion}`;
    } else if (name === 'NoSuchBucket' || (action === 'reach' && (name === 'NotFound' || status === 404))) {
      why = `bucket "${loc.bucket}" does not exist (create it, or fix the bucket in the path)`;
    } else if (name === 'InvalidAccessKeyId' || name === 'SignatureDoesNotMatch') {
      why = 'the store rejected the credentials (check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile)';
    } else if (name === 'AccessDenied' || name === 'Forbidden' || status === 403) {
      why = `access denied: the credentials may not ${action === 'reach' ? 'use this bucket' : action} here (check the bucket policy and the key's permissions)`;
    } else if (name === 'CredentialsProviderError') {
      why = 'no credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE';
    } else if (name === 'AbortError') {
      why = 'aborted';
    } else {
      why = errorMessage(e) || name || `HTTP ${status}`;
    }
    return new RunError(`cannot ${action} ${where}: ${why}`, undefined, { cause: e });
  }
}

/**
 * `bucket/key` as x-amz-copy-source wants it: URL-encoded. encodeURI (which keeps `=`, `:` and `/`), plus `+`, which
 * some stores would read as a space: S3 decodes every escape, and stores that decode only what decodeURI does (s3rver)
 * still find keys made of the characters partition directories use.
 */
const copySource = (bucket: string, key: string): string => `${bucket}/${encodeURI(key).replace(/\+/g, '%2B')}`;

const errorName = (e: unknown): string => (e as { name?: string; Code?: string }).Code ?? (e as { name?: string }).name ?? '';

/** The bucket's region, when the store said it is elsewhere (a 301 header, or the error body's Region). */
function bucketRegion(e: unknown): string | undefined {
  const err = e as { Region?: string; $response?: { headers?: Record<string, string> } };
  return err.$response?.headers?.['x-amz-bucket-region'] ?? err.Region;
}
