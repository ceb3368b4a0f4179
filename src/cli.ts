/**
 * The `vigil` command: runs the Vigil server until SIGINT or SIGTERM.
 *
 * From a checkout, `deno task start` runs it with the permissions it needs:
 *
 * ```sh
 * deno task start                                  # embedded defaults, 127.0.0.1:9464
 * deno task start --config /etc/vigil/vigil.yaml   # relative paths resolve from where you are
 * deno task start --hostname 0.0.0.0 --port 9464   # in a container
 * ```
 *
 * From JSR, with the flags spelled out (`--allow-net` and `--allow-read`
 * may be narrowed to the listen address, the hosts and paths of the health
 * checks, and the config file: the command names each one missing at
 * start-up and exits 2):
 *
 * ```sh
 * deno run --allow-net --allow-read --allow-write \
 *   --allow-env=VIGIL_PORT,VIGIL_HOSTNAME,VIGIL_SERVICE_NAME,VIGIL_ENVIRONMENT,VIGIL_LOG_LEVEL,VIGIL_LOG_FORMAT,VIGIL_AUTH_TOKEN,VIGIL_SENTRY_DSN,VIGIL_TRACING_ENDPOINT,VIGIL_WRITE_TOKEN \
 *   --ignore-env=LOG_TOKENS,LOG_STREAM --allow-sys=loadavg,systemMemoryInfo,statfs \
 *   jsr:@vigil/observe/cli --config vigil.yaml --port 9464 --hostname 127.0.0.1
 * ```
 *
 * Flags: `--config <file>`, `--port <n>`, `--hostname <host>`, `-h`/`--help`.
 * Exit codes: 0 after a graceful shutdown; 2 for bad arguments, an invalid
 * configuration, a missing permission or an address that cannot be
 * listened on; 1 when the shutdown overran `server.shutdownTimeoutMs` or a
 * second signal cut the drain short.
 *
 * @module
 */
import { parseArgs } from "node:util";
import {
  applyEnv,
  ConfigError,
  defaultConfig,
  ENV_VARIABLES,
  loadConfig,
} from "./config/mod.ts";
import type { VigilConfig } from "./config/types.ts";
import {
  loggingOptions,
  missingPermissions,
  StartupError,
  startVigil,
  type VigilApp,
} from "./app.ts";
import { LOG_FLUSH_MS, within } from "./base/_within.ts";

/** How long a second signal waits for its own log line to be written. */
const SECOND_SIGNAL_FLUSH_MS = 200;
import { configureLogging, type LoggingHandle } from "./logging/mod.ts";
import { ROUTE_TABLE } from "./base/routes.ts";
import { VERSION } from "./base/version.ts";

const USAGE = `Vigil ${VERSION}: metrics, health and drift server

Usage: vigil [options]

Options:
  --config <file>     YAML configuration (default: the embedded defaults)
  --port <n>          TCP port (default 9464; 0 picks a free one)
  --hostname <host>   interface (default 127.0.0.1; 0.0.0.0 in a container)
  -h, --help          show this help

Environment: ${ENV_VARIABLES.join(", ")}
(flags beat the environment, which beats the file)

Endpoints:
${
  ROUTE_TABLE.map((route) => `  ${route.path.padEnd(18)}  ${route.summary}`)
    .join("\n")
}
`;

/**
 * A signal this soon after the first is the same one delivered twice:
 * Ctrl-C reaches every process of the terminal's group, and `deno task`
 * forwards it to its child as well, so the server sees two at once.
 */
const DUPLICATE_SIGNAL_MS = 1000;

/** What the command line asked for. */
export interface CliArguments {
  /** The configuration file, if any. */
  readonly config: string | undefined;
  /** `--port`, if given. */
  readonly port: number | undefined;
  /** `--hostname`, if given. */
  readonly hostname: string | undefined;
  /** Whether `--help` was given. */
  readonly help: boolean;
}

/**
 * Parses the command line.
 *
 * @param args The arguments, without the program.
 * @returns What they ask for.
 * @throws {TypeError} On an unknown flag, a stray argument or a malformed value.
 *
 * @example Parse a port
 * ```ts
 * import { parseCli } from "@vigil/observe/cli";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseCli(["--port", "9000"]).port, 9000);
 * assert.equal(parseCli(["--config", "vigil.yaml"]).config, "vigil.yaml");
 * ```
 */
export function parseCli(args: readonly string[]): CliArguments {
  const { values } = parseArgs({
    args: [...args],
    options: {
      config: { type: "string" },
      port: { type: "string" },
      hostname: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  let port: number | undefined;
  if (values.port !== undefined) {
    port = Number(values.port);
    if (!/^\d+$/.test(values.port) || port > 65535) {
      throw new TypeError(
        `Invalid port ${
          JSON.stringify(values.port)
        }: expected an integer from 0 to 65535`,
      );
    }
  }
  if (values.hostname === "") {
    throw new TypeError("Invalid hostname: it must not be empty");
  }
  return {
    config: values.config,
    port,
    hostname: values.hostname,
    help: values.help ?? false,
  };
}

/**
 * The configuration the command runs with: the file (or the embedded
 * defaults), then `VIGIL_*` variables, then flags.
 *
 * @param cli The parsed command line.
 * @param env Reads an environment variable.
 * @returns The configuration.
 * @throws {ConfigError} When the file or a variable is invalid.
 */
export async function resolveConfig(
  cli: CliArguments,
  env: (name: string) => string | undefined,
): Promise<VigilConfig> {
  const base = cli.config === undefined
    ? defaultConfig()
    : await loadConfig(cli.config);
  const config = applyEnv(base, env);
  return {
    ...config,
    server: {
      ...config.server,
      ...(cli.port === undefined ? {} : { port: cli.port }),
      ...(cli.hostname === undefined ? {} : { hostname: cli.hostname }),
    },
  };
}

/**
 * Runs the server until SIGINT or SIGTERM, then shuts down gracefully
 * within `server.shutdownTimeoutMs`.
 *
 * @param args The command-line arguments.
 * @returns The exit code: 0 after a graceful shutdown; 2 for bad arguments,
 * an invalid configuration, a missing permission or an address that cannot
 * be listened on; 1 when the shutdown overran its time (a second signal
 * during the drain exits 1 at once).
 */
export async function main(args: readonly string[]): Promise<number> {
  let config: VigilConfig;
  try {
    const cli = parseCli(args);
    if (cli.help) {
      console.log(USAGE);
      return 0;
    }
    const denied = ENV_VARIABLES.filter((variable) =>
      Deno.permissions.querySync({ name: "env", variable }).state !==
        "granted"
    );
    if (denied.length > 0) {
      console.error(
        `vigil: reading the environment overrides needs --allow-env=${
          ENV_VARIABLES.join(",")
        } (not granted: ${denied.join(", ")})`,
      );
      return 2;
    }
    callerDirectory();
    config = await resolveConfig(cli, (name) => Deno.env.get(name));
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`vigil: invalid configuration: ${error.message}`);
      return 2;
    }
    if (!(error instanceof TypeError)) throw error;
    console.error(`vigil: ${error.message}\n\n${USAGE}`);
    return 2;
  }
  // Listen for signals before announcing the address: a supervisor may
  // signal as soon as it reads the line. The first signal drains; a second
  // one, from an operator who will not wait, exits at once.
  let app: VigilApp | undefined;
  let logging: LoggingHandle | undefined;
  let first: number | undefined;
  const signalled = new Promise<void>((resolve) => {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      Deno.addSignalListener(signal, async () => {
        const now = performance.now();
        if (first === undefined) {
          first = now;
          return resolve();
        }
        if (now - first < DUPLICATE_SIGNAL_MS) return;
        app?.logger.warn("Second signal during shutdown: exiting at once", {
          event: "app.second_signal",
          signal,
        });
        // The line is queued: written before the process goes, unless
        // standard output is blocked (the operator will not wait).
        await within(logging?.flush(), SECOND_SIGNAL_FLUSH_MS);
        Deno.exit(1);
      });
    }
  });
  // Deno reads OTEL_DENO when it starts, never after: a file that turns
  // tracing on cannot, so say how once.
  if (config.tracing.enabled && !otelStarted()) {
    console.error(
      `vigil: tracing is enabled in the configuration, but Deno exports spans only when it starts with OTEL_DENO=true: run OTEL_DENO=true OTEL_EXPORTER_OTLP_ENDPOINT=${config.tracing.endpoint} deno task start`,
    );
  }
  // The log sinks first, so start-up problems are logged as configured.
  const missing = missingPermissions(config);
  if (missing.length === 0) {
    logging = await configureLogging(loggingOptions(config));
  }
  try {
    app = startVigil(config, {
      ...(logging === undefined ? {} : { logging }),
      onListen: ({ hostname, port }) => {
        const host = hostname.includes(":") ? `[${hostname}]` : hostname;
        console.log(
          `Vigil ${VERSION} listening on http://${host}:${port} (metrics at /metrics, probes at /health/live and /health/ready)`,
        );
      },
    });
    const statsd = await app.statsd;
    if (statsd !== undefined) {
      console.log(
        `Vigil receives StatsD lines on ${
          statsd.hostname.includes(":")
            ? `[${statsd.hostname}]`
            : statsd.hostname
        }:${statsd.port} (UDP${config.ingest.statsd.tcp ? " and TCP" : ""})`,
      );
    }
  } catch (error) {
    await within(logging?.close(), LOG_FLUSH_MS);
    if (!(error instanceof StartupError)) throw error;
    console.error(`vigil: ${error.message}`);
    return 2;
  }
  await Promise.race([signalled, app.server.finished]);
  const limit = config.server.shutdownTimeoutMs;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overrun = new Promise<"overrun">((resolve) => {
    timer = setTimeout(() => resolve("overrun"), limit);
  });
  const outcome = await Promise.race([app.shutdown(), overrun]);
  clearTimeout(timer);
  if (outcome === "overrun") {
    app.logger.error("Shutdown took too long: exiting anyway", {
      event: "app.shutdown_overrun",
      shutdownTimeoutMs: limit,
    });
    await within(logging?.close(), LOG_FLUSH_MS);
    return 1;
  }
  await within(logging?.close(), LOG_FLUSH_MS);
  return 0;
}

/** Whether Deno was started with its OpenTelemetry export on. */
function otelStarted(): boolean {
  const granted =
    Deno.permissions.querySync({ name: "env", variable: "OTEL_DENO" })
      .state === "granted";
  return granted && ["true", "1"].includes(Deno.env.get("OTEL_DENO") ?? "");
}

/**
 * Works from the directory the command was typed in. `deno task` runs a
 * task in the project's directory and says where the caller was in
 * `INIT_CWD`; without this, `--config ./vigil.yaml` and relative disk-check
 * paths would resolve against the project rather than the caller. Only
 * trusted when the process does run in this package's directory, as a task
 * does: `INIT_CWD` is inherited by every process below the first task.
 */
function callerDirectory(): void {
  if (!import.meta.url.startsWith("file:")) return;
  const packageDir = decodeURIComponent(new URL("..", import.meta.url).pathname)
    .replace(/\/$/, "");
  const granted = (descriptor: Deno.PermissionDescriptor): boolean =>
    Deno.permissions.querySync(descriptor).state === "granted";
  if (!granted({ name: "env", variable: "INIT_CWD" })) return;
  const caller = Deno.env.get("INIT_CWD");
  if (caller === undefined || caller === "" || caller === packageDir) return;
  if (!granted({ name: "read", path: packageDir })) return;
  if (Deno.cwd() !== packageDir) return;
  if (granted({ name: "read", path: caller })) Deno.chdir(caller);
}

if (import.meta.main) Deno.exit(await main(Deno.args));
