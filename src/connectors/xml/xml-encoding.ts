// The XML declaration names the file's encoding; the stream's `encoding` decides how it is decoded. When they
// disagree the text would be garbled silently, so the mismatch fails the stream with the fix.
import iconv from 'iconv-lite';

const norm = (e: string): string => e.toLowerCase().replace(/[^a-z0-9]/g, '');
const isUtf16 = (e: string): boolean => /^(utf16|ucs2)/.test(norm(e));

/** Every byte value decoded: two encodings that agree on all of them decode a single-byte file identically. */
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** A message when `declared` (from `<?xml encoding=…?>`) contradicts `configured`; undefined when they agree. */
export function checkDeclaredEncoding(declared: string, configured: string): string | undefined {
  const d = norm(declared);
  const c = norm(configured);
  if (d === c) return undefined;
  // The decoder already got the UTF-16 byte order from the BOM or the stream's setting.
  if (isUtf16(d) && isUtf16(c)) return undefined;
  const utf8 = (e: string) => e === 'utf8' || e === 'usascii' || e === 'ascii';
  if (utf8(d) && utf8(c)) return undefined;
  if (!iconv.encodingExists(declared)) return undefined;
  if (!utf8(c) && iconv.encodingExists(configured)) {
    if (!utf8(d) && iconv.decode(ALL_BYTES, declared) === iconv.decode(ALL_BYTES, configured)) return undefined;
  }
  return `the XML declaration says encoding="${declared}" but the stream decodes the file as ${configured}: set \`encoding: ${declared}\` on the stream`;
}
