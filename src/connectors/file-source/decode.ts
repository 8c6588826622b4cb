// Bytes → text for the file sources. UTF-8 is validated chunk by chunk with the native fatal decoder (as fast as
// plain decoding); only a chunk that fails takes the slow path that pinpoints the replaced characters, so parsers
// can reject exactly the records that contained invalid bytes.
import iconv from 'iconv-lite';

/** A piece of decoded text; `bad` holds offsets (within `text`) of U+FFFD that replaced invalid bytes. */
export interface TextChunk {
  text: string;
  bad?: number[];
}

export interface ChunkDecoder {
  write(bytes: Uint8Array): TextChunk;
  end(): TextChunk;
}

export type InvalidUtf8 = 'reject' | 'replace';

const isUtf8 = (encoding: string): boolean => /^utf-?8$/i.test(encoding);

/** True when TextDecoder or iconv-lite can decode `encoding`. */
export function encodingSupported(encoding: string): boolean {
  return isUtf8(encoding) || iconv.encodingExists(encoding);
}

export function createDecoder(encoding: string, invalidUtf8: InvalidUtf8): ChunkDecoder {
  if (!isUtf8(encoding)) return new IconvDecoder(encoding);
  return invalidUtf8 === 'reject' ? new CheckedUtf8Decoder() : new LossyUtf8Decoder();
}

const BOM = '\uFEFF';

class LossyUtf8Decoder implements ChunkDecoder {
  private readonly dec = new TextDecoder('utf-8', { ignoreBOM: true });
  private first = true;
  write(bytes: Uint8Array): TextChunk {
    return { text: this.stripBom(this.dec.decode(bytes, { stream: true })) };
  }
  end(): TextChunk {
    return { text: this.stripBom(this.dec.decode()) };
  }
  private stripBom(text: string): string {
    if (!this.first || text.length === 0) return text;
    this.first = false;
    return text.startsWith(BOM) ? text.slice(1) : text;
  }
}

class IconvDecoder implements ChunkDecoder {
  private readonly dec: iconv.DecoderStream;
  private first = true;
  constructor(encoding: string) {
    this.dec = iconv.getDecoder(encoding, { stripBOM: true });
  }
  write(bytes: Uint8Array): TextChunk {
    return { text: this.stripBom(this.dec.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) };
  }
  end(): TextChunk {
    return { text: this.stripBom(this.dec.end() ?? '') };
  }
  // iconv strips the BOM only for BOM-aware codecs; a UTF-8 BOM in a "latin1" file is still noise.
  private stripBom(text: string): string {
    if (!this.first || text.length === 0) return text;
    this.first = false;
    return text.startsWith(BOM) ? text.slice(1) : text;
  }
}

class CheckedUtf8Decoder implements ChunkDecoder {
  private readonly fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  private readonly lossy = new TextDecoder('utf-8', { ignoreBOM: true });
  private carry: Uint8Array | undefined;
  private first = true;

  write(input: Uint8Array): TextChunk {
    let bytes = input;
    if (this.carry) {
      bytes = new Uint8Array(this.carry.length + input.length);
      bytes.set(this.carry);
      bytes.set(input, this.carry.length);
      this.carry = undefined;
    }
    const cut = incompleteTail(bytes);
    if (cut < bytes.length) this.carry = bytes.slice(cut);
    return this.decode(bytes.subarray(0, cut));
  }

  end(): TextChunk {
    const rest = this.carry ?? new Uint8Array(0);
    this.carry = undefined;
    return this.decode(rest);
  }

  private decode(bytes: Uint8Array): TextChunk {
    let chunk: TextChunk;
    try {
      chunk = { text: this.fatal.decode(bytes) };
    } catch {
      chunk = decodeMarkingInvalid(bytes, this.lossy);
    }
    if (this.first && chunk.text.length > 0) {
      this.first = false;
      if (chunk.text.startsWith(BOM)) {
        chunk = { text: chunk.text.slice(1), bad: chunk.bad?.map((o) => o - 1) };
      }
    }
    return chunk;
  }
}

/** Index where a multi-byte sequence that the next chunk may complete starts (bytes.length when none). */
function incompleteTail(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const b = bytes[n - back];
    if ((b & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return need > back ? n - back : n;
  }
  return n;
}

/** Length of the valid sequence at i, or minus the length of the invalid subpart to replace by one U+FFFD. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) need = 1;
  else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    if (b === 0xe0) lo = 0xa0;
    else if (b === 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    if (b === 0xf0) lo = 0x90;
    else if (b === 0xf4) hi = 0x8f;
  } else return -1;
  for (let k = 1; k <= need; k++) {
    const c = bytes[i + k];
    if (c === undefined || c < lo || c > hi) return -k;
    lo = 0x80;
    hi = 0xbf;
  }
  return need + 1;
}

/** The slow path, only for chunks that contain invalid bytes. */
function decodeMarkingInvalid(bytes: Uint8Array, lossy: TextDecoder): TextChunk {
  const parts: string[] = [];
  const bad: number[] = [];
  let length = 0;
  let runStart = 0;
  let i = 0;
  while (i < bytes.length) {
    if (bytes[i] < 0x80) {
      i++;
      continue;
    }
    const len = sequenceLength(bytes, i);
    if (len > 0) {
      i += len;
      continue;
    }
    const run = lossy.decode(bytes.subarray(runStart, i));
    parts.push(run, '\uFFFD');
    bad.push(length + run.length);
    length += run.length + 1;
    i -= len;
    runStart = i;
  }
  parts.push(lossy.decode(bytes.subarray(runStart)));
  return { text: parts.join(''), bad };
}

/**
 * Global offsets of replaced characters, consumed in order as a parser moves through its text. The hot path
 * only compares `next` against a record's end, so valid files pay one comparison per record.
 */
export class InvalidMarks {
  next = Infinity;
  private readonly queue: number[] = [];
  private head = 0;

  add(base: number, offsets: readonly number[] | undefined): void {
    if (!offsets) return;
    for (const o of offsets) this.queue.push(base + o);
    this.next = this.queue[this.head] ?? Infinity;
  }

  /** True when a replaced character lies in [start, end); marks before `end` are forgotten. */
  within(start: number, end: number): boolean {
    let hit = false;
    while (this.head < this.queue.length && this.queue[this.head] < end) {
      if (this.queue[this.head] >= start) hit = true;
      this.head++;
    }
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    }
    this.next = this.queue[this.head] ?? Infinity;
    return hit;
  }
}
