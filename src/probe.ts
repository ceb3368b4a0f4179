/**
 * `deno task probe <url>`: a health probe for containers without `curl`.
 * It requests the URL once and exits 0 when the answer is 2xx, 1 when it is
 * anything else, does not come within the timeout, or no connection is
 * made, or the arguments are bad (Docker reserves 2 in a `HEALTHCHECK`, so
 * a bad argument is a failed check too, with its reason on stderr). As a
 * Dockerfile `HEALTHCHECK`:
 *
 * ```dockerfile
 * HEALTHCHECK CMD ["deno", "run", "--allow-net=127.0.0.1:9464", "jsr:@vigil/observe/probe", "http://127.0.0.1:9464/health/live"]
 * ```
 *
 * Flags: `--timeout <ms>` (default 5000).
 *
 * @module
 */
import { parseArgs } from "node:util";

/** How long a probe waits for its answer by default, in milliseconds. */
export const DEFAULT_PROBE_TIMEOUT_MS = 5000;

/**
 * Probes a URL once.
 *
 * @param args The command-line arguments: the URL and `--timeout <ms>`.
 * @returns The exit code: 0 for a 2xx answer, 1 otherwise (bad arguments
 * included).
 *
 * @example Probe a server that is up
 * ```ts
 * import { probe } from "@vigil/observe/probe";
 * import assert from "node:assert/strict";
 *
 * const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, () => new Response("ok"));
 * assert.equal(await probe([`http://127.0.0.1:${server.addr.port}/health/live`]), 0);
 * await server.shutdown();
 * ```
 */
export async function probe(args: readonly string[]): Promise<number> {
  let url: URL;
  let timeoutMs: number;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      options: { timeout: { type: "string" } },
      allowPositionals: true,
    });
    if (positionals.length !== 1) {
      throw new TypeError(
        `expected one URL, got ${positionals.length} arguments`,
      );
    }
    url = new URL(positionals[0]!);
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`expected an http(s) URL, got ${url.protocol}`);
    }
    timeoutMs = values.timeout === undefined
      ? DEFAULT_PROBE_TIMEOUT_MS
      : Number(values.timeout);
    if (!(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
      throw new TypeError(
        `--timeout must be a positive integer of milliseconds, got ${values.timeout}`,
      );
    }
  } catch (error) {
    console.error(
      `probe: ${
        error instanceof Error ? error.message : String(error)
      }\nusage: deno task probe [--timeout <ms>] <url>`,
    );
    return 1;
  }
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
    await response.body?.cancel();
    if (response.status >= 200 && response.status < 300) return 0;
    console.error(`probe: ${url} answered ${response.status}`);
    return 1;
  } catch (error) {
    console.error(
      `probe: ${url}: ${
        error instanceof Error ? error.message : String(error)
      }`,
    );
    return 1;
  }
}

if (import.meta.main) Deno.exit(await probe(Deno.args));
