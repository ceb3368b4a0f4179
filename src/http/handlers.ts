import type { Registry } from "../metrics/registry.ts";
import { CONTENT_TYPES, negotiateFormat } from "../base/exposition.ts";
import type { Logger } from "../base/log.ts";

/** A web-standard request handler, as `Deno.serve` takes. */
export type Handler = (request: Request) => Response | Promise<Response>;

/** Options of {@linkcode metricsHandler}. */
export interface MetricsHandlerOptions {
  /**
   * Where a failed render is logged; the scrape then gets a 500.
   * @default {nothing is logged}
   */
  logger?: Logger;
}

/**
 * Serves a registry's metrics, in the format the `Accept` header negotiates
 * (see {@linkcode negotiateFormat}). A `HEAD` request gets the same response
 * as a `GET`: `Deno.serve` then sends its headers, `content-length`
 * included, and leaves the body out (a `null` body would be announced as
 * `content-length: 0`).
 *
 * @param registry The registry to render.
 * @param options Where to log failures.
 * @returns The handler.
 *
 * @example Call the handler directly
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { metricsHandler } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * registry.counter({ name: "jobs_total", help: "Jobs" }).inc();
 * const response = await metricsHandler(registry)(new Request("http://localhost/metrics"));
 * assert.equal(response.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
 * assert.match(await response.text(), /^jobs_total 1$/m);
 * ```
 */
export function metricsHandler(
  registry: Registry,
  options: MetricsHandlerOptions = {},
): Handler {
  return async (request) => {
    const format = negotiateFormat(request.headers.get("accept"));
    let chunks: Uint8Array<ArrayBuffer>[];
    try {
      chunks = await registry.metricsChunks({ format });
    } catch (error) {
      options.logger?.error("Rendering metrics failed", { error });
      return json({ error: "Rendering metrics failed" }, 500);
    }
    // Streamed as rendered: the workers' buffers go to the socket without
    // being joined, decoded or encoded again. The length is known, so
    // clients and HEAD see it as with any other body.
    let length = 0;
    for (const chunk of chunks) length += chunk.byteLength;
    let next = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (next < chunks.length) controller.enqueue(chunks[next++]!);
        else controller.close();
      },
    });
    return new Response(body, {
      headers: {
        "content-type": CONTENT_TYPES[format],
        "content-length": String(length),
      },
    });
  };
}

/**
 * A JSON response (`application/json`).
 *
 * @param body The value to serialize.
 * @param status The HTTP status.
 * @param headers Extra headers.
 * @returns The response.
 *
 * @example Answer a 404
 * ```ts
 * import { json } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * const response = json({ error: "Not found" }, 404);
 * assert.equal(response.headers.get("content-type"), "application/json");
 * assert.deepEqual(await response.json(), { error: "Not found" });
 * ```
 */
export function json(
  body: unknown,
  status: number,
  headers?: Record<string, string>,
): Response {
  // Response.json() without extra headers takes Deno's fast path: a probe
  // answers about 10% faster than with a headers object.
  return headers === undefined
    ? Response.json(body, { status })
    : Response.json(body, { status, headers });
}
