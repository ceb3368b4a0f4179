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
import { type HttpMetrics, httpMetrics } from "./http/instrument.ts";
import { serve, type VigilServer } from "./http/server.ts";
import { createLogger, type Logger } from "./base/log.ts";
import { registerProcessMetrics } from "./metrics/process.ts";
import { Registry } from "./metrics/registry.ts";
import {
  registerRuntimeMetrics,
  type RuntimeMonitor,
} from "./metrics/runtime.ts";

/** Options of {@linkcode startVigil}. */
export interface StartOptions {
  /**
   * Where Vigil logs.
   * @default {a JSON logger at the configured level, on standard error}
   */
  logger?: Logger;
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
 * HTTP), the configured health checks running in the background, and the
 * HTTP server.
 *
 * @param config A complete configuration, such as `defaultConfig()`.
 * @param options Logger and listen callback.
 * @returns The running app.
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
  const logger = options.logger ?? createLogger({
    level: config.logging.level,
    fields: { service: config.service.name },
  });
  const registry = new Registry({
    logger,
    defaultLabels: config.metrics.defaultLabels,
    cardinalityLimit: config.metrics.cardinalityLimit,
    ...(config.metrics.workers === undefined
      ? {}
      : { aggregation: { workers: config.metrics.workers } }),
  });
  if (config.metrics.processMetrics) registerProcessMetrics(registry);
  const runtime = config.metrics.eventLoopIntervalMs > 0
    ? registerRuntimeMetrics(registry, {
      intervalMs: config.metrics.eventLoopIntervalMs,
    })
    : undefined;
  const http = httpMetrics(registry, config.metrics.buckets);
  const health = new Health({ logger });
  for (const check of config.health.checks) {
    const { name, critical, timeoutMs, intervalMs, componentType } = check;
    health.register(name, builtInCheck(check, registry, runtime), {
      critical,
      timeoutMs,
      intervalMs,
      componentType,
    });
  }
  health.start();
  const { server: settings } = config;
  const server = serve({
    registry,
    health,
    http,
    logger,
    service: config.service,
    aliases: settings.aliases,
    auth: settings.auth,
    maxBodyBytes: settings.maxBodyBytes,
    config: () => maskSecrets(config),
    port: settings.port,
    hostname: settings.hostname,
    ...(options.onListen === undefined ? {} : { onListen: options.onListen }),
  });

  let stopping: Promise<void> | undefined;
  const shutdown = (): Promise<void> => {
    stopping ??= (async () => {
      health.markShuttingDown();
      logger.info("Shutting down: readiness now fails", {
        drainDelayMs: settings.drainDelayMs,
      });
      await new Promise((resolve) =>
        setTimeout(resolve, settings.drainDelayMs)
      );
      await server.shutdown();
      runtime?.stop();
      await health.stop();
      await registry.close();
      logger.info("Shut down");
    })();
    return stopping;
  };
  return { config, registry, health, server, http, logger, shutdown };
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
