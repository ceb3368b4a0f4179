// A raw HTTP/1.1 client over TCP, for what fetch() will not send or hides:
// a forged Host header, UTF-8 bytes in a header, the bytes of a HEAD answer.

/** A response as it came off the wire. */
export interface RawResponse {
  /** The status code. */
  status: number;
  /** Header names lower-cased; a repeated header's values joined by ", ". */
  headers: Map<string, string>;
  /** The bytes after the header block, as sent (not de-chunked). */
  body: Uint8Array;
}

/**
 * Sends a request written by hand and reads the answer until the server
 * closes the connection. `head` is the request line and header lines,
 * without the final empty line; `Connection: close` is added.
 *
 * @param port The port on 127.0.0.1.
 * @param head The request line and headers, as text or as bytes.
 * @returns The parsed answer.
 */
export async function rawRequest(
  port: number,
  head: string | Uint8Array,
): Promise<RawResponse> {
  const encoder = new TextEncoder();
  const bytes = typeof head === "string" ? encoder.encode(head) : head;
  const request = concat([
    bytes,
    encoder.encode("\r\nConnection: close\r\n\r\n"),
  ]);
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  const chunks: Uint8Array[] = [];
  try {
    await writeAll(connection, request);
    const buffer = new Uint8Array(64 * 1024);
    while (true) {
      const read = await connection.read(buffer);
      if (read === null) break;
      chunks.push(buffer.slice(0, read));
    }
  } finally {
    connection.close();
  }
  return parse(concat(chunks));
}

/** Joins byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.byteLength;
  }
  return joined;
}

async function writeAll(
  connection: Deno.Conn,
  bytes: Uint8Array,
): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    written += await connection.write(bytes.subarray(written));
  }
}

function parse(bytes: Uint8Array): RawResponse {
  // Header bytes as Latin-1, one character per byte.
  const text = Array.from(bytes, (byte) => String.fromCharCode(byte)).join("");
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) {
    throw new Error(`Cannot parse response: no end of headers in ${text}`);
  }
  const [statusLine = "", ...lines] = text.slice(0, end).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  if (!Number.isInteger(status)) {
    throw new Error(`Cannot parse response: bad status line ${statusLine}`);
  }
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const previous = headers.get(name);
    headers.set(name, previous === undefined ? value : `${previous}, ${value}`);
  }
  return { status, headers, body: bytes.slice(end + 4) };
}
