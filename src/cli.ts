/**
 * The `vigil` command: runs the Vigil server.
 *
 * ```sh
 * deno task start                      # 127.0.0.1:9464, embedded defaults
 * deno task start --hostname 0.0.0.0   # in a container
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { Registry } from "./metrics/registry.ts";
import { registerProcessMetrics } from "./metrics/process.ts";
import { DEFAULT_PORT, serve } from "./http/server.ts";
import { createLogger } from "./logging/logger.ts";
import { VERSION } from "./version.ts";

const USAGE = `Vigil ${VERSION}: metrics and health server

Usage: vigil [options]

Options:
  --port <n>          TCP port (env VIGIL_PORT, default ${DEFAULT_PORT}; 0 picks a free one)
  --hostname <host>   interface (env VIGIL_HOSTNAME, default 127.0.0.1;
                      0.0.0.0 in a container)
  -h, --help          show this help

Endpoints: GET /metrics, GET /health/live
`;

/** What the command line and the environment asked for. */
export interface CliSettings {
  /** The TCP port. */
  port: number;
  /** The interface to listen on. */
  hostname: string;
}

/**
 * Reads the settings from arguments and environment: a flag beats its
 * `VIGIL_*` variable, which beats the default.
 *
 * @param args The command-line arguments.
 * @param env Reads an environment variable.
 * @returns The settings, or `"help"` when help was asked for.
 * @throws {TypeError} On an unknown flag or a malformed value.
 *
 * @example Parse a port
 * ```ts
 * import { parseCli } from "@vigil/observe/cli";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseCli(["--port", "9000"], () => undefined), { port: 9000, hostname: "127.0.0.1" });
 * assert.deepEqual(parseCli([], (name) => name === "VIGIL_PORT" ? "9100" : undefined), { port: 9100, hostname: "127.0.0.1" });
 * ```
 */
export function parseCli(
  args: readonly string[],
  env: (name: string) => string | undefined,
): CliSettings | "help" {
  const { values } = parseArgs({
    args: [...args],
    options: {
      port: { type: "string" },
      hostname: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const rawPort = values.port ?? env("VIGIL_PORT") ?? String(DEFAULT_PORT);
  const port = Number(rawPort);
  if (!/^\d+$/.test(rawPort) || port > 65535) {
    throw new TypeError(
      `Invalid port ${
        JSON.stringify(rawPort)
      }: expected an integer from 0 to 65535`,
    );
  }
  const hostname = values.hostname ?? env("VIGIL_HOSTNAME") ?? "127.0.0.1";
  if (hostname === "") {
    throw new TypeError("Invalid hostname: it must not be empty");
  }
  return { port, hostname };
}

/**
 * Runs the server until SIGINT or SIGTERM, then shuts down gracefully.
 *
 * @param args The command-line arguments.
 * @returns The exit code.
 */
export async function main(args: readonly string[]): Promise<number> {
  let settings: CliSettings | "help";
  try {
    settings = parseCli(args, (name) => Deno.env.get(name));
  } catch (error) {
    if (!(error instanceof TypeError)) throw error;
    console.error(`vigil: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  if (settings === "help") {
    console.log(USAGE);
    return 0;
  }
  // Listen for signals before announcing the address: a supervisor may
  // signal as soon as it reads the line.
  const stop = new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, () => resolve());
    }
  });
  const logger = createLogger({ fields: { service: "vigil" } });
  const registry = new Registry({ logger });
  registerProcessMetrics(registry);
  const server = serve({
    registry,
    logger,
    port: settings.port,
    hostname: settings.hostname,
    onListen: ({ hostname, port }) => {
      const host = hostname.includes(":") ? `[${hostname}]` : hostname;
      console.log(
        `Vigil ${VERSION} listening on http://${host}:${port} (GET /metrics, /health/live)`,
      );
    },
  });
  await Promise.race([stop, server.finished]);
  await server.shutdown();
  await registry.close();
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
