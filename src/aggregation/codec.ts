// The buffers an aggregator hands the main thread, transferred rather than
// copied: snapshots (little-endian 64-bit floats and unsigned LEB128 varints,
// whole numbers up to 2^53) and rendered text (UTF-8). Internal.

const TWO_POW_31 = 2147483648;
const encoder = new TextEncoder();

/** Writes floats and varints into a buffer that grows by doubling. */
export class ByteWriter {
  #bytes: Uint8Array<ArrayBuffer>;
  #view: DataView;
  #length = 0;

  constructor(capacity = 1024) {
    this.#bytes = new Uint8Array(capacity);
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** Bytes written so far. */
  get length(): number {
    return this.#length;
  }

  f64(value: number): void {
    this.#reserve(8);
    this.#view.setFloat64(this.#length, value, true);
    this.#length += 8;
  }

  /** A whole number from 0 to 2^53, in 1 to 8 bytes. */
  varint(value: number): void {
    this.#reserve(8);
    const bytes = this.#bytes;
    let n = value;
    let at = this.#length;
    while (n >= TWO_POW_31) {
      bytes[at++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    while (n >= 128) {
      bytes[at++] = (n & 127) | 128;
      n >>>= 7;
    }
    bytes[at++] = n;
    this.#length = at;
  }

  /** Appends a string in UTF-8: ASCII byte by byte, the rest through `TextEncoder`. */
  text(value: string): void {
    // At most 3 bytes a UTF-16 unit (a surrogate pair's 4 bytes take 2).
    this.#reserve(value.length * 3);
    const bytes = this.#bytes;
    let at = this.#length;
    for (let i = 0; i < value.length; i++) {
      const code = value.charCodeAt(i);
      if (code >= 0x80) {
        at += encoder.encodeInto(value.slice(i), bytes.subarray(at)).written;
        break;
      }
      bytes[at++] = code;
    }
    this.#length = at;
  }

  /** Appends again the `length` bytes written from `start` on. */
  repeat(start: number, length: number): void {
    this.#reserve(length);
    this.#bytes.copyWithin(this.#length, start, start + length);
    this.#length += length;
  }

  /** Overwrites 4 bytes at `at`, reserved earlier with {@linkcode skip}. */
  u32At(at: number, value: number): void {
    this.#view.setUint32(at, value, true);
  }

  /** Reserves `count` bytes to fill in later; returns where they start. */
  skip(count: number): number {
    this.#reserve(count);
    const at = this.#length;
    this.#length += count;
    return at;
  }

  /** Appends bytes. */
  bytes(data: Uint8Array): void {
    this.#reserve(data.length);
    this.#bytes.set(data, this.#length);
    this.#length += data.length;
  }

  /**
   * The bytes written: a view of the writer's buffer, which may be longer;
   * transfer `.buffer` rather than copy it. Size the writer well and little
   * is wasted.
   */
  finish(): Uint8Array<ArrayBuffer> {
    return this.#bytes.subarray(0, this.#length);
  }

  #reserve(count: number): void {
    const needed = this.#length + count;
    if (needed <= this.#bytes.length) return;
    let capacity = this.#bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const bytes = new Uint8Array(capacity);
    bytes.set(this.#bytes.subarray(0, this.#length));
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer);
  }
}

/** Reads what a {@linkcode ByteWriter} wrote. */
export class ByteReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  /** The next byte to read. */
  position: number;

  constructor(bytes: Uint8Array, position = 0) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    this.position = position;
  }

  /** Whether every byte was read. */
  get done(): boolean {
    return this.position >= this.#bytes.length;
  }

  f64(): number {
    const value = this.#view.getFloat64(this.position, true);
    this.position += 8;
    return value;
  }

  u32(): number {
    const value = this.#view.getUint32(this.position, true);
    this.position += 4;
    return value;
  }

  varint(): number {
    const bytes = this.#bytes;
    let value = 0;
    let scale = 1;
    for (;;) {
      if (this.position >= bytes.length) {
        throw new RangeError(
          `Cannot read a snapshot: it ends inside a number at byte ${this.position}`,
        );
      }
      const byte = bytes[this.position++]!;
      value += (byte & 127) * scale;
      if (byte < 128) return value;
      scale *= 128;
    }
  }
}

/** Bytes of a record's header: the series id (a float) and the body's length. */
export const RECORD_HEADER = 12;

/**
 * Calls `fn` with each record of a snapshot: its series id and where it
 * starts and ends in `bytes`, header included. A record is the series' id
 * (a float), the length of the rest (4 bytes), then what its kind writes;
 * the header lets the main thread keep each record by id without decoding
 * it.
 */
export function forEachRecord(
  bytes: Uint8Array,
  fn: (id: number, start: number, end: number) => void,
): void {
  const reader = new ByteReader(bytes);
  while (!reader.done) {
    const start = reader.position;
    const id = reader.f64();
    const length = reader.u32();
    const end = reader.position + length;
    if (end > bytes.length) {
      throw new RangeError(
        `Cannot read a snapshot: the record of series ${id} at byte ${start} runs past its end`,
      );
    }
    fn(id, start, end);
    reader.position = end;
  }
}
