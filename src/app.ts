/**
 * The whole Vigil server built from a configuration: what `deno task start`
 * runs, and what a program can start itself with {@linkcode startVigil}.
 *
 * @example Start from the embedded defaults on a free port
 * ```ts
 * import { defaultConfig } from "@vigil/observe/config";
 * import { startVigil } from "@vigil/observe/app";
 *
 * const config = defaultConfig();
 * const app = startVigil({ ...config, server: { ...config.server, port: 0, drainDelayMs: 0 } });
 * await app.shutdown();
 * ```
 *
 * @module
 */
import type { CheckConfig, VigilConfig } from "./config/types.ts";
import { maskSecrets } from "./config/mod.ts";
import {
  diskCheck,
  eventLoopLagCheck,
  httpCheck,
  memoryCheck,
  tcpCheck,
  workersCheck,
} from "./health/checks.ts";
import { Health, type HealthCheck } from "./health/health.ts";
import { registerHealthMetrics } from "./health/metrics.ts";
import { type HttpMetrics, httpMetrics } from "./http/instrument.ts";
import { serve, type VigilServer } from "./http/server.ts";
import { PushGateway } from "./ingest/push.ts";
import { declareKit } from "./kits/mod.ts";
import { startStatsd, type StatsdServer } from "./ingest/statsd_server.ts";
import { createLogger, type Logger } from "./base/log.ts";
import { LOG_FLUSH_MS, within } from "./base/_within.ts";
import {
  breadcrumbLogger,
  breadcrumbsFrom,
  initErrorTracking,
} from "./errors/mod.ts";
import {
  type LoggingHandle,
  type LoggingOptions,
  registerLoggingMetrics,
} from "./logging/mod.ts";
import { registerProcessMetrics } from "./metrics/process.ts";
import { Registry } from "./metrics/registry.ts";
import {
  registerRuntimeMetrics,
  type RuntimeMonitor,
} from "./metrics/runtime.ts";

/**
 * Thrown by {@linkcode startVigil} when the server cannot start as
 * configured: a permission the configuration needs is missing, the address
 * is in use or does not resolve. The message is one line meant for the
 * operator, naming the flag or setting to change.
 *
 * @example Report a port in use
 * ```ts
 * import { defaultConfig } from "@vigil/observe/config";
 * import { StartupError, startVigil } from "@vigil/observe/app";
 * import assert from "node:assert/strict";
 *
 * const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const config = defaultConfig();
 * assert.throws(
 *   () => startVigil({ ...config, server: { ...config.server, port: taken.addr.port } }),
 *   (error) => error instanceof StartupError && /address is in use/.test(error.message),
 * );
 * taken.close();
 * ```
 */
export class StartupError extends Error {
  /**
   * Creates the error.
   *
   * @param message What stops the start, and what to change.
   * @param options The error behind it.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StartupError";
  }
}

/** A permission the configuration needs that the process was not given. */
export interface MissingPermission {
  /** What needs it, e.g. `health check "db" (tcp db.internal:5432)`. */
  readonly needer: string;
  /** The flag that grants it, e.g. `--allow-net=db.internal:5432`. */
  readonly flag: string;
}

/**
 * Lists the permissions a configuration needs that this process lacks: the
 * address to listen on, and the hosts and paths of its health checks. A
 * check without its permission would fail on every run; {@linkcode startVigil}
 * refuses to start instead, naming the flags.
 *
 * @param config The configuration.
 * @returns One entry per missing permission; empty when all are granted.
 *
 * @example Find the flag a TCP check needs
 * ```ts
 * import { parseConfig } from "@vigil/observe/config";
 * import { missingPermissions } from "@vigil/observe/app";
 * import assert from "node:assert/strict";
 *
 * const config = parseConfig(
 *   "health:\n  checks:\n    - { name: db, type: tcp, host: db.internal, port: 5432 }\n",
 *   "vigil.yaml",
 * );
 * const granted = Deno.permissions.querySync({ name: "net", host: "db.internal:5432" });
 * // Under --allow-net=127.0.0.1, as `deno task test` runs, it is missing.
 * if (granted.state !== "granted") {
 *   assert.deepEqual(missingPermissions(config), [{
 *     needer: 'health check "db" (tcp db.internal:5432)',
 *     flag: "--allow-net=db.internal:5432",
 *   }]);
 * }
 * ```
 */
export function missingPermissions(config: VigilConfig): MissingPermission[] {
  const missing: MissingPermission[] = [];
  const need = (
    needer: string,
    descriptor: Deno.PermissionDescriptor,
    flag: string,
  ): void => {
    if (Deno.permissions.querySync(descriptor).state !== "granted") {
      missing.push({ needer, flag });
    }
  };
  const { hostname, port } = config.server;
  const listen = port === 0
    ? hostPort(hostname, undefined)
    : hostPort(hostname, port);
  need(
    `listening on ${listen}`,
    { name: "net", host: listen },
    `--allow-net=${hostPort(hostname, undefined)}`,
  );
  for (const check of config.health.checks) {
    const name = `health check "${check.name}"`;
    if (check.type === "http") {
      const url = new URL(check.url);
      const target = hostPort(
        url.hostname,
        Number(url.port || (url.protocol === "https:" ? 443 : 80)),
      );
      need(
        `${name} (http ${target})`,
        { name: "net", host: target },
        `--allow-net=${target}`,
      );
    } else if (check.type === "tcp") {
      const target = hostPort(check.host, check.port);
      need(
        `${name} (tcp ${target})`,
        { name: "net", host: target },
        `--allow-net=${target}`,
      );
    } else if (check.type === "disk") {
      need(
        `${name} (disk ${check.path})`,
        { name: "read", path: check.path },
        `--allow-read=${check.path}`,
      );
      need(
        `${name} (disk ${check.path})`,
        { name: "sys", kind: "statfs" },
        "--allow-sys=statfs",
      );
    }
  }
  const { directory } = config.logging.file;
  if (directory !== "") {
    for (const name of ["read", "write"] as const) {
      need(
        `log files in ${directory}`,
        { name, path: directory },
        `--allow-${name}=${directory}`,
      );
    }
  }
  return missing;
}

/** `host:port`, with IPv6 addresses in brackets as URLs and flags write them. */
function hostPort(host: string, port: number | undefined): string {
  const bare = host.startsWith("[") ? host.slice(1, -1) : host;
  const shown = bare.includes(":") ? `[${bare}]` : bare;
  return port === undefined ? shown : `${shown}:${port}`;
}

/**
 * The options of `configureLogging()` a configuration's `logging` and
 * `service` sections give: what `deno task start` sets up before it starts.
 *
 * @param config The configuration.
 * @returns The logging options.
 *
 * @example Log as the configuration says
 * ```ts
 * import { defaultConfig } from "@vigil/observe/config";
 * import { loggingOptions } from "@vigil/observe/app";
 * import { configureLogging } from "@vigil/observe/logging";
 *
 * const logging = await configureLogging(loggingOptions(defaultConfig()));
 * await logging.close();
 * ```
 */
export function loggingOptions(config: VigilConfig): LoggingOptions {
  const { logging, service } = config;
  return {
    level: logging.level,
    levels: logging.levels,
    format: logging.format,
    service: {
      name: service.name,
      environment: service.environment,
      version: service.version,
    },
    maxFieldLength: logging.maxFieldLength,
    queueSize: logging.queueSize,
    ...(logging.file.directory === "" ? {} : {
      file: {
        directory: logging.file.directory,
        retentionDays: logging.file.retentionDays,
      },
    }),
  };
}

/** Options of {@linkcode startVigil}. */
export interface StartOptions {
  /**
   * Where Vigil logs.
   * @default {Vigil's logger (category `vigil.app`), written where LogTape is configured}
   */
  logger?: Logger;
  /**
   * What `configureLogging(loggingOptions(config))` returned, if the program
   * set up logging for this configuration (`deno task start` does): its
   * losses are exposed (`vigil_log_lines_dropped_total`,
   * `vigil_log_sink_errors_total`) and its lines flushed at shutdown.
   * @default {no logging handle}
   */
  logging?: LoggingHandle;
  /**
   * Called once the server listens.
   * @default {nothing is called}
   */
  onListen?: (addr: Deno.NetAddr) => void;
}

/** A running Vigil server and what it is made of. */
export interface VigilApp {
  /** The configuration it runs with. */
  readonly config: VigilConfig;
  /** Its metrics: add your own. */
  readonly registry: Registry;
  /** Its health checks: register your own. */
  readonly health: Health;
  /** The HTTP server. */
  readonly server: VigilServer;
  /** The metrics its own requests are recorded in. */
  readonly http: HttpMetrics;
  /**
   * Settles once the StatsD listener (`ingest.statsd`) is bound, with it,
   * or with `undefined` when it is off. A listener that cannot bind
   * rejects it with a {@linkcode StartupError} and shuts the app down:
   * `deno task start` awaits it and exits 2.
   */
  readonly statsd: Promise<StatsdServer | undefined>;
  /** Its logger. */
  readonly logger: Logger;
  /**
   * Stops gracefully: readiness turns 503 at once, `drainDelayMs` passes so
   * load balancers stop sending traffic, the server stops accepting and
   * lets in-flight requests finish, then checks, timers and workers stop.
   * Idempotent: every call returns the same promise.
   */
  shutdown(): Promise<void>;
}

/**
 * Starts the Vigil server from a configuration: metrics (process, runtime,
 * HTTP), the configured health checks running in the background, the
 * configured drift models, and the HTTP server.
 *
 * @param config A complete configuration, such as `defaultConfig()`.
 * @param options Logger and listen callback.
 * @returns The running app.
 * @throws {StartupError} When a permission the configuration needs is
 * missing (see {@linkcode missingPermissions}), a drift model cannot be
 * created as configured, or the server cannot listen:
 * the address is in use or the host name does not resolve. Nothing is left
 * running then.
 *
 * @example Start on a free port and stop
 * ```ts
 * import { defaultConfig } from "@vigil/observe/config";
 * import { startVigil } from "@vigil/observe/app";
 *
 * const config = defaultConfig();
 * const app = startVigil({ ...config, server: { ...config.server, port: 0, drainDelayMs: 0 } });
 * await app.shutdown();
 * ```
 */
export function startVigil(
  config: VigilConfig,
  options: StartOptions = {},
): VigilApp {
  const missing = missingPermissions(config);
  if (missing.length > 0) {
    throw new StartupError(
      `missing permissions: ${
        missing.map(({ needer, flag }) => `${needer} needs ${flag}`).join("; ")
      }`,
    );
  }
  const logger = options.logger ?? createLogger("app");
  const registry = new Registry({
    logger,
    defaultLabels: config.metrics.defaultLabels,
    cardinalityLimit: config.metrics.cardinalityLimit,
    ...(config.metrics.workers === undefined
      ? {}
      : { aggregation: { workers: config.metrics.workers } }),
  });
  if (options.logging !== undefined) {
    registerLoggingMetrics(registry, options.logging);
  }
  if (config.metrics.processMetrics) registerProcessMetrics(registry);
  // Declared kits first, so StatsD lines of their names land in their
  // metrics.
  for (const kit of config.kits) declareKit(registry, kit);
  const runtime = config.metrics.eventLoopIntervalMs > 0
    ? registerRuntimeMetrics(registry, {
      intervalMs: config.metrics.eventLoopIntervalMs,
    })
    : undefined;
  const http = httpMetrics(registry, config.metrics.buckets);
  // Error tracking from the `errors` section (VIGIL_SENTRY_DSN): health
  // status changes and drift events become its breadcrumbs.
  const tracking = config.errors.sentryDsn === ""
    ? undefined
    : initErrorTracking({
      dsn: config.errors.sentryDsn,
      environment: config.service.environment,
      release: config.service.version,
      sampleRate: config.errors.sampleRate,
      registry,
      // The configuration is the only source here, not SENTRY_* variables.
      env: () => undefined,
    });
  const health = new Health({
    logger: tracking === undefined
      ? logger
      : breadcrumbLogger(tracking, logger),
  });
  for (const check of config.health.checks) {
    const { name, critical, timeoutMs, intervalMs, componentType } = check;
    health.register(name, builtInCheck(check, registry, runtime), {
      critical,
      timeoutMs,
      intervalMs,
      componentType,
    });
  }
  registerHealthMetrics(registry, health);
  for (const model of config.drift.models) {
    try {
      registry.model(model);
    } catch (error) {
      // The config checks what it can; the registry has the last word.
      runtime?.stop();
      void registry.close();
      throw new StartupError(
        `cannot create drift model "${model.name}": ${
          error instanceof Error ? error.message : String(error)
        }`,
        { cause: error },
      );
    }
  }
  if (tracking !== undefined) {
    breadcrumbsFrom(tracking, { models: registry.models() });
  }
  const { server: settings } = config;
  const { push: pushing } = config.ingest;
  const push = pushing.enabled
    ? new PushGateway(registry, {
      ...(pushing.ttlSeconds === undefined
        ? {}
        : { ttlSeconds: pushing.ttlSeconds }),
      maxGroups: pushing.maxGroups,
      maxSeries: pushing.maxSeries,
      maxBodyBytes: settings.maxBodyBytes,
      requestTimeoutMs: settings.requestTimeoutMs,
    })
    : undefined;
  let server: VigilServer;
  try {
    server = serve({
      ...(push === undefined
        ? {}
        : { push: (request, path) => push.handle(request, path) }),
      registry,
      health,
      http,
      logger,
      service: config.service,
      aliases: settings.aliases,
      auth: settings.auth,
      writeToken: config.drift.writeToken,
      accessLog: config.logging.accessLog.enabled && {
        successSampleRate: config.logging.accessLog.successSampleRate,
        skipRoutes: ["/metrics"],
      },
      maxBodyBytes: settings.maxBodyBytes,
      requestTimeoutMs: settings.requestTimeoutMs,
      config: () => maskSecrets(config),
      port: settings.port,
      hostname: settings.hostname,
      ...(options.onListen === undefined ? {} : { onListen: options.onListen }),
    });
  } catch (error) {
    push?.close();
    runtime?.stop();
    void registry.close();
    throw listenFailure(error, settings.hostname, settings.port);
  }
  const { statsd: statsdConfig } = config.ingest;
  const listening = statsdConfig.enabled
    ? startStatsd(registry, {
      hostname: settings.hostname,
      port: statsdConfig.port,
      tcp: statsdConfig.tcp,
      observer: statsdConfig.observer,
      setWindowSeconds: statsdConfig.setWindowSeconds,
      maxPacketBytes: statsdConfig.maxPacketBytes,
      maxMetrics: statsdConfig.maxMetrics,
      mappings: statsdConfig.mappings,
      buckets: config.metrics.buckets,
    })
    : Promise.resolve(undefined);
  // Closed at shutdown whether or not it bound.
  const statsdListener = listening.catch(() => undefined);
  const statsd = listening.catch(async (error) => {
    logger.error("The StatsD listener cannot start", {
      event: "app.statsd_failed",
      error,
    });
    await shutdown();
    throw new StartupError(
      `cannot listen for StatsD on ${
        hostPort(settings.hostname, statsdConfig.port)
      } (ingest.statsd.port): ${
        error instanceof Error ? error.message : String(error)
      }`,
      { cause: error },
    );
  });
  // An embedder that never awaits it must not get an unhandled rejection.
  statsd.catch(() => {});
  health.start();
  logger.info("Started", {
    event: "app.started",
    hostname: server.addr.hostname,
    port: server.addr.port,
  });

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      health.markShuttingDown();
      logger.info("Shutting down: readiness now fails", {
        event: "app.shutting_down",
        drainDelayMs: settings.drainDelayMs,
      });
      await new Promise((resolve) =>
        setTimeout(resolve, settings.drainDelayMs)
      );
      await server.shutdown();
      await (await statsdListener)?.close();
      push?.close();
      runtime?.stop();
      await health.stop();
      try {
        await registry.close();
      } finally {
        await tracking?.close(LOG_FLUSH_MS);
      }
      logger.info("Shut down", { event: "app.stopped" });
      // Bounded: a standard output nobody reads must not hold the exit.
      await within(options.logging?.flush(), LOG_FLUSH_MS);
    })();
    return stopping;
  };
  return {
    config,
    registry,
    health,
    server,
    http,
    logger,
    statsd,
    shutdown,
  };
}

/** The one-line reason the server could not listen, or the error itself. */
function listenFailure(
  error: unknown,
  hostname: string,
  port: number,
): unknown {
  const address = hostPort(hostname, port);
  if (error instanceof Deno.errors.AddrInUse) {
    return new StartupError(
      `cannot listen on ${address}: the address is in use (choose another port with --port or server.port)`,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return new StartupError(
      `cannot listen on ${address}: no interface of this machine has that address (--hostname or server.hostname)`,
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.NotCapable) {
    return new StartupError(
      `cannot listen on ${address}: add --allow-net=${
        hostPort(hostname, undefined)
      }`,
      { cause: error },
    );
  }
  if (error instanceof Error && /lookup address/.test(error.message)) {
    return new StartupError(
      `cannot listen on ${address}: the host name does not resolve (--hostname or server.hostname)`,
      { cause: error },
    );
  }
  return error;
}

function builtInCheck(
  check: CheckConfig,
  registry: Registry,
  runtime: RuntimeMonitor | undefined,
): HealthCheck {
  switch (check.type) {
    case "http":
      return httpCheck(check.url, { expectStatus: check.expectStatus });
    case "tcp":
      return tcpCheck(check.host, check.port);
    case "disk":
      return diskCheck(check.path, {
        warnFreeRatio: check.warnFreeRatio,
        failFreeRatio: check.failFreeRatio,
      });
    case "memory":
      return memoryCheck({
        warnBytes: check.warnBytes,
        failBytes: check.failBytes,
      });
    case "eventLoop":
      return eventLoopLagCheck(() => runtime?.lagMs() ?? 0, {
        warnMs: check.warnMs,
        failMs: check.failMs,
      });
    case "workers":
      return workersCheck(registry);
  }
}
