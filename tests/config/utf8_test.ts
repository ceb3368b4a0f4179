import assert from "node:assert/strict";
import fc from "fast-check";
import { ConfigError } from "../../src/config/mod.ts";
import { decodeUtf8 } from "../../src/config/_utf8.ts";

/** Runs `decodeUtf8` on `bytes` and returns where it reports the problem. */
function problem(bytes: readonly number[]): string {
  try {
    decodeUtf8(new Uint8Array(bytes), "c.yaml");
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  assert.fail("expected a ConfigError");
}

const ascii = (text: string): number[] => [...new TextEncoder().encode(text)];

Deno.test("decodeUtf8() names the line, column and value of the first bad byte", async (t) => {
  /** [bytes, message] */
  const cases: [number[], string][] = [
    [[...ascii("a: "), 0x80], "c.yaml:1:4: invalid UTF-8 (byte 0x80)"],
    [[...ascii("a: "), 0xff], "c.yaml:1:4: invalid UTF-8 (byte 0xFF)"],
    [[...ascii("a: "), 0xc1, 0xbf], "c.yaml:1:4: invalid UTF-8 (byte 0xC1)"],
    // Overlong, surrogate and past U+10FFFF: well-formed looking, refused.
    [
      [...ascii("a: "), 0xe0, 0x80, 0xaf],
      "c.yaml:1:4: invalid UTF-8 (byte 0xE0)",
    ],
    [
      [...ascii("a: "), 0xed, 0xa0, 0x80],
      "c.yaml:1:4: invalid UTF-8 (byte 0xED)",
    ],
    [
      [...ascii("a: "), 0xf4, 0x90, 0x80, 0x80],
      "c.yaml:1:4: invalid UTF-8 (byte 0xF4)",
    ],
    // A lead byte whose sequence breaks off is the bad byte, not the next.
    [
      [...ascii("a: "), 0xe9, ...ascii("\nb: 1\n")],
      "c.yaml:1:4: invalid UTF-8 (byte 0xE9)",
    ],
    [[...ascii("a: x"), 0xe2, 0x82], "c.yaml:1:5: invalid UTF-8 (byte 0xE2)"],
    // Lines end at LF, also in CRLF files.
    [
      [...ascii("a: 1\r\nb: 2\r\nc: "), 0xfe],
      "c.yaml:3:4: invalid UTF-8 (byte 0xFE)",
    ],
    // Columns count characters: "é" (2 bytes), "€" (3), "😀" (4 bytes, 2 UTF-16 units).
    [[...ascii("a: é€😀"), 0xc0], "c.yaml:1:7: invalid UTF-8 (byte 0xC0)"],
    // The byte order mark takes no column.
    [
      [0xef, 0xbb, 0xbf, ...ascii("a"), 0xff],
      "c.yaml:1:2: invalid UTF-8 (byte 0xFF)",
    ],
  ];
  for (const [bytes, message] of cases) {
    await t.step(message, () => assert.equal(problem(bytes), message));
  }
});

Deno.test("decodeUtf8() drops a leading byte order mark and keeps the rest", () => {
  const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...ascii("a: é\n")]);
  assert.equal(decodeUtf8(bytes, "c.yaml"), "a: é\n");
});

Deno.test("decodeUtf8() refuses exactly what a fatal TextDecoder refuses, at a byte of the text", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 24 }), (bytes) => {
      let valid = true;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
        valid = false;
      }
      try {
        decodeUtf8(bytes, "c.yaml");
        assert.ok(valid);
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error;
        assert.ok(!valid);
        assert.match(
          error.message,
          /^c\.yaml:\d+:\d+: invalid UTF-8 \(byte 0x[0-9A-F]{2}\)$/,
        );
        const byte = parseInt(error.message.slice(-3, -1), 16);
        assert.ok(bytes.includes(byte));
      }
    }),
    { numRuns: 2000 },
  );
});
