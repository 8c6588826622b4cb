// Small connector specs registered by the config tests, so they do not depend on the real connectors.
import { z } from 'zod';
import type { Destination, DestinationCapabilities, DestinationSpec, SourceSpec } from '../../src/core/connector.js';
import assert from 'node:assert/strict';
import { ConfigError } from '../../src/core/errors.js';
import { parsePipeline, PipelineConfigError } from '../../src/config/load.js';

export const testSourceSpec: SourceSpec = {
  kind: 'source',
  type: 'test_source',
  status: 'experimental',
  description: 'A source for the config tests.',
  config: z.strictObject({ password: z.string().optional().describe('A secret.') }),
  stream: z.strictObject({
    file: z.string().describe('File to read.'),
    limit: z.int().min(1).optional().describe('Rows to read at most.'),
  }),
  create: async () => ({ type: 'test_source', async *read() { /* no rows */ } }),
};

const TEST_CAPABILITIES: DestinationCapabilities = {
  dispositions: ['append'],
  transactional: false,
  identifiers: { caseSensitive: true, maxLength: 63 },
  types: (type) => type.toUpperCase(),
};

/** Declares only `append`, so capability checks have something to reject. */
export const testDestinationSpec: DestinationSpec = {
  kind: 'destination',
  type: 'test_dest',
  status: 'beta',
  description: 'An append-only destination for the config tests.',
  config: z.strictObject({ dir: z.string().default('out').describe('Output directory.') }),
  capabilities: () => TEST_CAPABILITIES,
  create: async () => {
    const fail = async (): Promise<never> => { throw new Error('test_dest does not load'); };
    const d: Destination = {
      type: 'test_dest',
      capabilities: TEST_CAPABILITIES,
      connect: fail, readState: fail, resetState: fail, begin: fail, close: async () => {},
    };
    return d;
  },
};

/** Parse pipeline text as if it were /p/pipeline.yaml, with `env` for `${VAR}`. */
export const parseAt = (text: string, env: Record<string, string> = {}) => parsePipeline(text, { file: '/p/pipeline.yaml', baseDir: '/p', env });

/** The ConfigErrors `fn` throws (every error of it when there are several); fails when it throws none. */
export function errorsOf(fn: () => unknown): ConfigError[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
    return e instanceof PipelineConfigError ? e.errors : [e];
  }
  assert.fail('expected a ConfigError');
}
