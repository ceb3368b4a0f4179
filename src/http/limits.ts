// Request-body limits: a size cap and a deadline.
import { concatBytes } from "./_bytes.ts";

/** Thrown by {@linkcode readBody}; `status` is the answer to give (413 or 408). */
export class RequestBodyError extends Error {
  /** 413 when the body is too large, 408 when it came too slowly. */
  readonly status: 408 | 413;

  /**
   * Creates the error.
   *
   * @param status 413 or 408.
   * @param message What went wrong.
   */
  constructor(status: 408 | 413, message: string) {
    super(message);
    this.name = "RequestBodyError";
    this.status = status;
  }
}

/** Options of {@linkcode readBody}. */
export interface ReadBodyOptions {
  /** The most bytes accepted. */
  maxBytes: number;
  /** The whole body must arrive within this many milliseconds. */
  timeoutMs: number;
}

/**
 * Reads a request body with a size limit and a deadline. A `Content-Length`
 * above the limit is refused before anything is read; a chunked body is
 * refused as soon as it passes the limit, and the rest is not read.
 *
 * @param request The request.
 * @param options The limit and the deadline.
 * @returns The body's bytes.
 * @throws {RequestBodyError} With status 413 or 408.
 *
 * @example Refuse a large body
 * ```ts
import { readBody, RequestBodyError } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * const request = new Request("http://localhost/", { method: "POST", body: "x".repeat(100) });
 * await assert.rejects(
 *   readBody(request, { maxBytes: 10, timeoutMs: 1000 }),
 *   (error) => error instanceof RequestBodyError && error.status === 413,
 * );
 * ```
 */
export async function readBody(
  request: Request,
  options: ReadBodyOptions,
): Promise<Uint8Array> {
  const { maxBytes, timeoutMs } = options;
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    await request.body?.cancel();
    throw tooLarge(maxBytes);
  }
  if (request.body === null) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new RequestBodyError(
            408,
            `Request body not received within ${timeoutMs} ms`,
          ),
        ),
      timeoutMs,
    );
  });
  try {
    while (true) {
      const { value, done } = await Promise.race([reader.read(), deadline]);
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(value);
    }
  } catch (error) {
    await reader.cancel().catch((cancelError: unknown) => {
      // The stream may be errored already; the first error is the one to report.
      if (!(cancelError instanceof Error)) throw cancelError;
    });
    throw error;
  } finally {
    clearTimeout(timer);
  }
  return concatBytes(chunks);
}

function tooLarge(maxBytes: number): RequestBodyError {
  return new RequestBodyError(
    413,
    `Request body larger than ${maxBytes} bytes`,
  );
}
