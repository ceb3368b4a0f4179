// Decoding a config file, with the place of the first byte that is not
// UTF-8. Internal: not re-exported.
import { ConfigError } from "./errors.ts";

/**
 * Decodes `bytes` as UTF-8; a leading byte order mark is dropped.
 *
 * @throws {ConfigError} At the line and column of the first ill-formed
 * sequence: `vigil.yaml:3:12: invalid UTF-8 (byte 0xE9)`.
 */
export function decodeUtf8(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    const at = firstInvalidByte(bytes);
    if (at < 0) {
      throw new ConfigError(source, "invalid UTF-8", { cause: error });
    }
    const lineStart = bytes.lastIndexOf(0x0a, at - 1) + 1;
    // Columns count characters, as an editor shows them; a fresh decoder
    // drops the byte order mark on line 1.
    const before = new TextDecoder().decode(bytes.subarray(lineStart, at));
    const hex = bytes[at]!.toString(16).toUpperCase().padStart(2, "0");
    throw new ConfigError(source, `invalid UTF-8 (byte 0x${hex})`, {
      line: bytes.subarray(0, at).filter((b) => b === 0x0a).length + 1,
      column: [...before].length + 1,
      cause: error,
    });
  }
}

/**
 * Where the first ill-formed sequence starts (the Unicode Standard's table
 * 3-7 of well-formed byte sequences), or -1.
 */
function firstInvalidByte(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    // The length of the sequence, and the range of its second byte.
    const [length, low, high] = lead < 0x80
      ? [1, 0, 0]
      : lead >= 0xc2 && lead <= 0xdf
      ? [2, 0x80, 0xbf]
      : lead === 0xe0
      ? [3, 0xa0, 0xbf]
      : lead === 0xed
      ? [3, 0x80, 0x9f]
      : lead >= 0xe1 && lead <= 0xef
      ? [3, 0x80, 0xbf]
      : lead === 0xf0
      ? [4, 0x90, 0xbf]
      : lead >= 0xf1 && lead <= 0xf3
      ? [4, 0x80, 0xbf]
      : lead === 0xf4
      ? [4, 0x80, 0x8f]
      : [0, 0, 0];
    if (length === 0) return i;
    for (let k = 1; k < length; k++) {
      const byte = bytes[i + k];
      const [min, max] = k === 1 ? [low, high] : [0x80, 0xbf];
      if (byte === undefined || byte < min || byte > max) return i;
    }
    i += length;
  }
  return -1;
}
