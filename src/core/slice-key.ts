// The state key of a slice of a stream (src/engine/slices.ts): `<stream>#<id>`. Destinations find a stream's slices by
// this prefix, so it lives below both.
import type { SourceSlice } from './connector.js';
import type { StreamState } from './types.js';

/** Marks a slice's state key; stream names never need it. */
export const SLICE_MARK = '#';

export const sliceKey = (stream: string, slice: SourceSlice): string => `${stream}${SLICE_MARK}${slice.id}`;

/** What every slice key of `stream` starts with. */
export const slicePrefix = (stream: string): string => `${stream}${SLICE_MARK}`;

/** The state a slice keeps once folded into its stream's (StreamState.folded). */
export const FOLDED: StreamState = { version: 1, folded: true };
