import assert from "node:assert/strict";
import { readBody, RequestBodyError } from "../../src/http/mod.ts";

/** A server that reads bodies with readBody() and answers with the outcome. */
function bodyServer(maxBytes: number, timeoutMs: number) {
  return Deno.serve(
    { port: 0, hostname: "127.0.0.1", onListen: () => {} },
    async (request) => {
      try {
        const body = await readBody(request, { maxBytes, timeoutMs });
        return new Response(`read ${body.byteLength}`);
      } catch (error) {
        if (!(error instanceof RequestBodyError)) throw error;
        return new Response(error.message, { status: error.status });
      }
    },
  );
}

/** Sends raw bytes over TCP and returns the status line of the answer. */
async function raw(
  port: number,
  parts: string[],
  pauseMs = 0,
): Promise<string> {
  const connection = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const encoder = new TextEncoder();
    for (const part of parts) {
      await connection.write(encoder.encode(part));
      if (pauseMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, pauseMs));
      }
    }
    const buffer = new Uint8Array(1024);
    const read = await connection.read(buffer);
    return new TextDecoder().decode(buffer.subarray(0, read ?? 0)).split(
      "\r\n",
    )[0]!;
  } finally {
    connection.close();
  }
}

Deno.test("readBody() reads a body within its limits", async () => {
  const server = bodyServer(100, 5000);
  try {
    const response = await fetch(`http://127.0.0.1:${server.addr.port}/`, {
      method: "POST",
      body: "x".repeat(100),
    });
    assert.equal(await response.text(), "read 100");
  } finally {
    await server.shutdown();
  }
});

Deno.test("readBody() answers 413 to a declared length over the limit before reading it", async () => {
  const server = bodyServer(10, 5000);
  try {
    const status = await raw(server.addr.port, [
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\nConnection: close\r\n\r\n",
    ]);
    assert.equal(status, "HTTP/1.1 413 Payload Too Large");
  } finally {
    await server.shutdown();
  }
});

Deno.test("readBody() answers 413 once a chunked body passes the limit", async () => {
  const server = bodyServer(10, 5000);
  try {
    const status = await raw(server.addr.port, [
      "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
      "8\r\n12345678\r\n",
      "8\r\n12345678\r\n",
    ], 20);
    assert.equal(status, "HTTP/1.1 413 Payload Too Large");
  } finally {
    await server.shutdown();
  }
});

Deno.test("readBody() answers 408 to a body that stops arriving", async () => {
  const server = bodyServer(1000, 200);
  try {
    // Declares 100 bytes, sends 3, then stalls.
    const status = await raw(server.addr.port, [
      "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\nConnection: close\r\n\r\nabc",
    ]);
    assert.equal(status, "HTTP/1.1 408 Request Timeout");
  } finally {
    await server.shutdown();
  }
});
