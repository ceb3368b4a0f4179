// Blocks of bytes for the sparse counts of every series of an aggregator,
// in pages of 1 MiB. Internal.
//
// Each series growing small typed arrays of its own costs twice their size
// in RSS and more: every growth frees a block the allocator cannot give to
// anyone (all series grow alike), and each array carries its own headers.
// An arena hands out blocks in size classes from pages of one size, reuses
// freed blocks, and compacts once freed bytes pass half the live ones, so
// RSS follows the bytes in use.

/** Emptied pages kept for reuse. */
const MAX_SPARE_PAGES = 4;

/** Bytes of a page: every block fits one. */
export const PAGE_BYTES = 1 << 20;
const PAGE_SHIFT = 20;

/** Bytes of the blocks of each size class: multiples of 8, about a quarter apart. */
const CLASS_BYTES: readonly number[] = (() => {
  const sizes = [16];
  while (sizes.at(-1)! < PAGE_BYTES / 2) {
    const last = sizes.at(-1)!;
    sizes.push(Math.max(last + 8, Math.ceil(last * 1.25 / 8) * 8));
  }
  return sizes;
})();

/** The size class of the smallest block of at least `bytes`. */
export function sizeClass(bytes: number): number {
  let c = 0;
  while (CLASS_BYTES[c]! < bytes) c++;
  if (c === CLASS_BYTES.length) {
    throw new RangeError(
      `Cannot allocate ${bytes} bytes in an arena: a block holds at most ${
        CLASS_BYTES.at(-1)
      }`,
    );
  }
  return c;
}

/** Bytes of a block of class `c`. */
export function bytesOf(c: number): number {
  return CLASS_BYTES[c]!;
}

/** What holds a block: the arena moves it as it compacts. */
export interface BlockOwner {
  /** The block's address. */
  readonly address: number;
  /** The block's size class. */
  readonly sizeClass: number;
  /** Called when the block moved to `address`. */
  relocate(address: number): void;
}

/**
 * Blocks of bytes, each of a size class, in pages of {@linkcode PAGE_BYTES}.
 * A block is named by its address: `page * PAGE_BYTES + offset`, the
 * offset a multiple of 8, so 16- and 32-bit views of its page can read it.
 * Views of a page stay valid until the arena compacts.
 */
export class ByteArena {
  /** Each page as bytes, 16-bit and 32-bit numbers. */
  bytes: Uint8Array<ArrayBuffer>[] = [];
  halves: Uint16Array[] = [];
  words: Uint32Array[] = [];
  /** The first free byte of the last page. */
  #top = PAGE_BYTES;
  #free: number[][] = CLASS_BYTES.map(() => []);
  #liveBytes = 0;
  #freeBytes = 0;
  /** Pages emptied by compaction, kept for reuse. */
  readonly #spare: ArrayBuffer[] = [];

  /** Bytes in live blocks, in freed blocks waiting for reuse, and in pages. */
  get usage(): {
    readonly live: number;
    readonly free: number;
    readonly pages: number;
  } {
    return {
      live: this.#liveBytes,
      free: this.#freeBytes,
      pages: this.bytes.length * PAGE_BYTES,
    };
  }

  /** Whether freed bytes pass half the live ones and a page: time to compact. */
  get wasteful(): boolean {
    return this.#freeBytes > Math.max(this.#liveBytes / 2, PAGE_BYTES);
  }

  /** A block of class `c`; its contents are undefined. */
  allocate(c: number): number {
    const size = CLASS_BYTES[c]!;
    this.#liveBytes += size;
    const reused = this.#free[c]!.pop();
    if (reused !== undefined) {
      this.#freeBytes -= size;
      return reused;
    }
    if (this.#top + size > PAGE_BYTES) this.#addPage();
    const address = (this.bytes.length - 1) * PAGE_BYTES + this.#top;
    this.#top += size;
    return address;
  }

  /** Gives a block back for reuse. */
  release(address: number, c: number): void {
    const size = CLASS_BYTES[c]!;
    this.#liveBytes -= size;
    this.#freeBytes += size;
    this.#free[c]!.push(address);
  }

  /**
   * Slides every live block down to the start of the pages, in address
   * order, so no gap is left but at page ends, and drops the pages left
   * empty. The pages are kept, not replaced: allocators keep freed memory
   * for reuse, so new pages at each compaction would keep RSS up.
   *
   * @param owners Every live block's owner, each once.
   */
  compact(owners: BlockOwner[]): void {
    owners.sort((a, b) => a.address - b.address);
    let page = 0;
    let top = 0;
    let live = 0;
    for (const owner of owners) {
      const size = CLASS_BYTES[owner.sizeClass]!;
      if (top + size > PAGE_BYTES) {
        page++;
        top = 0;
      }
      const from = owner.address;
      const to = page * PAGE_BYTES + top;
      // Never upwards: each block moves to the lowest room after those
      // before it, which is at most where it was.
      if (to !== from) {
        const source = from >>> PAGE_SHIFT;
        const offset = from & (PAGE_BYTES - 1);
        if (source === page) {
          this.bytes[page]!.copyWithin(top, offset, offset + size);
        } else {
          this.bytes[page]!.set(
            this.bytes[source]!.subarray(offset, offset + size),
            top,
          );
        }
        owner.relocate(to);
      }
      top += size;
      live += size;
    }
    const pages = owners.length === 0 ? 0 : page + 1;
    // A few emptied pages are kept for the next growth, which would
    // otherwise wait for the garbage collector to free them first.
    const spare = this.#spare;
    for (let p = pages; p < this.bytes.length; p++) {
      if (spare.length < MAX_SPARE_PAGES) spare.push(this.bytes[p]!.buffer);
    }
    this.bytes.length = pages;
    this.halves.length = pages;
    this.words.length = pages;
    this.#top = pages === 0 ? PAGE_BYTES : top;
    this.#free = CLASS_BYTES.map(() => []);
    this.#liveBytes = live;
    this.#freeBytes = 0;
  }

  #addPage(): void {
    const buffer = this.#spare.pop() ?? new ArrayBuffer(PAGE_BYTES);
    this.bytes.push(new Uint8Array(buffer));
    this.halves.push(new Uint16Array(buffer));
    this.words.push(new Uint32Array(buffer));
    this.#top = 0;
  }
}
