// The main thread's copy of each series' newest snapshot record: what a
// restarted aggregator is restored from. Internal.
import { forEachRecord } from "./codec.ts";

/** A record: where it lies in the buffer it arrived in, and the batch it covers. */
interface Held {
  readonly seq: number;
  readonly buffer: Uint8Array<ArrayBuffer>;
  readonly start: number;
  readonly end: number;
}

/** Dead bytes tolerated before compacting, whatever the live bytes. */
const MIN_DEAD_BYTES = 1 << 20;

/**
 * The newest snapshot record of each series. Records stay in the buffers
 * they arrived in (one per snapshot message), so keeping one costs no copy
 * and no allocation of its own; a buffer is freed once all its records are
 * superseded. When superseded bytes outnumber the live ones (and pass 1
 * MiB), the live records are copied into one new buffer: memory stays
 * within twice the live records, and each byte received is copied at most
 * once on average.
 */
export class SnapshotStore {
  readonly #held = new Map<number, Held>();
  /** Live bytes per buffer still referenced. */
  readonly #buffers = new Map<Uint8Array, number>();
  #liveBytes = 0;
  #bufferBytes = 0;

  /** Series held. */
  get size(): number {
    return this.#held.size;
  }

  /** Bytes of the records held, and of the buffers holding them. */
  get bytes(): { readonly live: number; readonly buffers: number } {
    return { live: this.#liveBytes, buffers: this.#bufferBytes };
  }

  /**
   * Takes the records of a snapshot covering batches up to `seq`. A record
   * replaces the one held for its series unless that one is newer (messages
   * can arrive out of order); series `keep` refuses are skipped.
   */
  receive(
    seq: number,
    buffer: Uint8Array<ArrayBuffer>,
    keep: (id: number) => boolean,
  ): void {
    forEachRecord(buffer, (id, start, end) => {
      if (!keep(id)) return;
      const held = this.#held.get(id);
      if (held !== undefined && held.seq > seq) return;
      if (held !== undefined) this.#release(held);
      this.#hold(id, { seq, buffer, start, end });
    });
    const dead = this.#bufferBytes - this.#liveBytes;
    if (dead > Math.max(this.#liveBytes, MIN_DEAD_BYTES)) this.#compact();
  }

  /** Forgets a series' record. */
  delete(id: number): void {
    const held = this.#held.get(id);
    if (held === undefined) return;
    this.#held.delete(id);
    this.#release(held);
  }

  /** Every record held, one after the other, in a buffer of its own. */
  concat(): Uint8Array<ArrayBuffer> {
    const bytes = new Uint8Array(this.#liveBytes);
    let at = 0;
    for (const { buffer, start, end } of this.#held.values()) {
      bytes.set(buffer.subarray(start, end), at);
      at += end - start;
    }
    return bytes;
  }

  #hold(id: number, held: Held): void {
    this.#held.set(id, held);
    const length = held.end - held.start;
    this.#liveBytes += length;
    const live = this.#buffers.get(held.buffer);
    // The whole buffer counts: a view keeps all of it alive.
    if (live === undefined) this.#bufferBytes += held.buffer.buffer.byteLength;
    this.#buffers.set(held.buffer, (live ?? 0) + length);
  }

  #release(held: Held): void {
    const length = held.end - held.start;
    this.#liveBytes -= length;
    const live = this.#buffers.get(held.buffer)! - length;
    if (live > 0) this.#buffers.set(held.buffer, live);
    else {
      this.#buffers.delete(held.buffer);
      this.#bufferBytes -= held.buffer.buffer.byteLength;
    }
  }

  /** Moves every live record into one new buffer. */
  #compact(): void {
    const buffer = this.concat();
    this.#buffers.clear();
    this.#bufferBytes = buffer.buffer.byteLength;
    if (buffer.length > 0) this.#buffers.set(buffer, buffer.length);
    let at = 0;
    for (const [id, held] of this.#held) {
      const length = held.end - held.start;
      this.#held.set(id, {
        seq: held.seq,
        buffer,
        start: at,
        end: at + length,
      });
      at += length;
    }
  }
}
