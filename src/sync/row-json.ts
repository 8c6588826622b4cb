// A row's values as JSON text and back, for what a sync keeps of rows outside the databases (changes spilled to
// disk, the change log's images): bytes as `{"$hex": …}` (a Buffer's own JSON would come back as an object of
// numbers), big integers as their digits (every engine reads them back from text).

const encode = (_: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v);
const decode = (_: string, v: unknown) => (v !== null && typeof v === 'object' && '$hex' in v ? Buffer.from((v as { $hex: string }).$hex, 'hex') : v);

/** A row's values with bytes made hex (a Buffer's toJSON runs before a replacer sees it). */
export const hexBytes = (row: readonly unknown[]): unknown[] => row.map((v) => (v instanceof Uint8Array ? { $hex: Buffer.from(v).toString('hex') } : v));

/** JSON text of anything holding rows made with hexBytes. */
export const toJson = (value: unknown): string => JSON.stringify(value, encode);

export const fromJson = <T>(text: string): T => JSON.parse(text, decode) as T;
