// Vigil's own events as breadcrumbs: drift events through the models'
// onDrift(), health status changes through the Logger Health writes them
// to (Health has no listener of its own).
import type { LogFields, Logger } from "../base/log.ts";
import type { ErrorTracking } from "./tracking.ts";

/** The fields of a drift event a breadcrumb carries (`DriftEvent`). */
export interface DriftNotice {
  /** The model's name, or the watched series'. */
  readonly model: string;
  /** The detector's kind. */
  readonly detector: string;
  /** What the detector is fed. */
  readonly input: string;
  /** A warning or a drift. */
  readonly severity: "warning" | "drift";
  /** The detector's updates at the event. */
  readonly updates: number;
  /** The detector's score after that update. */
  readonly score: number;
  /** When, in milliseconds since the Unix epoch. */
  readonly at: number;
}

/** A model or watch: what has `onDrift()`. */
export interface DriftSource {
  /** Calls `callback` on each warning and drift; returns the unsubscribe. */
  onDrift(callback: (event: DriftNotice) => void): () => void;
}

/** What {@linkcode breadcrumbsFrom} needs of a `Registry`: its `models()`. */
export interface DriftRegistry {
  /** The registry's models. */
  models(): Iterable<DriftSource>;
}

/** Where {@linkcode breadcrumbsFrom} listens. */
export interface BreadcrumbSources {
  /**
   * Every model of this registry at the time of the call.
   * @default {none}
   */
  readonly registry?: DriftRegistry;
  /**
   * Models and watches, such as those created later.
   * @default {none}
   */
  readonly models?: Iterable<DriftSource>;
}

/**
 * Turns drift warnings and drifts into breadcrumbs (category `drift`), so
 * an error reported after a drift shows it.
 *
 * @param tracking The handle of `initErrorTracking()`.
 * @param sources The registry and the models or watches to listen to.
 * @returns A function that stops listening.
 *
 * @example Drift events of a registry's models
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { breadcrumbsFrom, initErrorTracking } from "@vigil/observe/errors";
 *
 * const registry = new Registry();
 * const tracking = initErrorTracking({ env: () => undefined });
 * const stop = breadcrumbsFrom(tracking, { registry });
 * stop();
 * await registry.close();
 * ```
 */
export function breadcrumbsFrom(
  tracking: Pick<ErrorTracking, "addBreadcrumb">,
  sources: BreadcrumbSources,
): () => void {
  const listen = (event: DriftNotice) =>
    tracking.addBreadcrumb({
      category: "drift",
      type: "default",
      level: event.severity === "drift" ? "warning" : "info",
      message: `Drift ${event.severity} on ${event.model} (${event.detector})`,
      timestamp: event.at / 1000,
      data: {
        model: event.model,
        detector: event.detector,
        input: event.input,
        severity: event.severity,
        updates: event.updates,
        score: event.score,
      },
    });
  const stops = [
    ...(sources.registry?.models() ?? []),
    ...(sources.models ?? []),
  ].map((model) => model.onDrift(listen));
  return () => {
    for (const stop of stops) stop();
  };
}

/**
 * Wraps a logger so that health status changes written to it (lines with
 * `event: "health.status_changed"`) also become breadcrumbs (category
 * `health`); every line still goes to `logger`. Pass it as the `logger` of
 * `new Health()`.
 *
 * @param tracking The handle of `initErrorTracking()`.
 * @param logger The logger lines go on to.
 * @returns The wrapping logger.
 *
 * @example Health changes as breadcrumbs
 * ```ts
 * import { Health } from "@vigil/observe/health";
 * import { createLogger } from "@vigil/observe/logging";
 * import { breadcrumbLogger, initErrorTracking } from "@vigil/observe/errors";
 *
 * const tracking = initErrorTracking({ env: () => undefined });
 * const health = new Health({ logger: breadcrumbLogger(tracking, createLogger("health")) });
 * await health.stop();
 * ```
 */
export function breadcrumbLogger(
  tracking: Pick<ErrorTracking, "addBreadcrumb">,
  logger: Logger,
): Logger {
  const crumb = (
    level: "debug" | "info" | "warning" | "error",
    message: string,
    fields: LogFields | undefined,
  ) => {
    if (fields?.event !== "health.status_changed") return;
    tracking.addBreadcrumb({
      category: "health",
      level,
      message: `${message}: ${String(fields.component)} ${
        String(fields.from)
      } -> ${String(fields.to)}`,
      data: { ...fields },
    });
  };
  return {
    debug(message, fields) {
      crumb("debug", message, fields);
      logger.debug(message, fields);
    },
    info(message, fields) {
      crumb("info", message, fields);
      logger.info(message, fields);
    },
    warn(message, fields) {
      crumb("warning", message, fields);
      logger.warn(message, fields);
    },
    error(message, fields) {
      crumb("error", message, fields);
      logger.error(message, fields);
    },
  };
}
