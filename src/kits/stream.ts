// The stream source kit: events, freshness, reconnections and connection
// state of a feed (market data, websockets, collectors).
import type { Registry } from "../metrics/registry.ts";
import type { Kit } from "./spec.ts";
import { checkOption, durationMinutes } from "./_options.ts";
import { componentName, sharedCounter, sharedGauge } from "./_families.ts";

/** Options of {@linkcode streamMetrics}. */
export interface StreamMetricsOptions {
  /** The source's name: the `source` label of its series, e.g. `binance`. */
  readonly name: string;
}

/** What {@linkcode streamMetrics} returns: one source's helpers. */
export interface StreamMetrics {
  /**
   * Counts events received (`stream_events_total`) and sets
   * `stream_last_event_timestamp_seconds` to now.
   */
  event(count?: number): void;
  /** Counts a reconnection (`stream_reconnections_total`). */
  reconnect(): void;
  /** Sets whether the source is connected (`stream_up`: 1 or 0). */
  up(connected: boolean): void;
}

/**
 * Metrics of one stream source, registered once per registry and shared by
 * every source: `stream_events_total{source}`,
 * `stream_last_event_timestamp_seconds{source}` (set to the creation time
 * at first, so a source that never sends turns stale too),
 * `stream_reconnections_total{source}` and `stream_up{source}` (exposed from
 * the first `up()` on). The generated dashboards show events per second,
 * seconds since the last event, reconnections and state, and the rules
 * alert with StaleStream and FrequentReconnects.
 *
 * @param registry Where the metrics live.
 * @param options The source's name.
 * @returns The source's helpers; `up()` throws a TypeError for anything but
 * a boolean.
 * @throws {TypeError} When the name is empty, or the registry holds one of
 * the names as another metric.
 *
 * @example Count a feed's events
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { streamMetrics } from "@vigil/observe/kits";
 * import { sampleValue } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const quotes = streamMetrics(registry, { name: "quotes" });
 * quotes.up(true);
 * quotes.event(10);
 * assert.equal(await sampleValue(registry, "stream_events_total", { source: "quotes" }), 10);
 * assert.equal(await sampleValue(registry, "stream_up", { source: "quotes" }), 1);
 * await registry.close();
 * ```
 */
export function streamMetrics(
  registry: Registry,
  options: StreamMetricsOptions,
): StreamMetrics {
  const source = componentName("stream", options?.name);
  const label = { source };
  const events = sharedCounter(registry, {
    name: "stream_events_total",
    help: "Events received from the stream source",
    labelNames: ["source"],
  }).labels(label);
  const last = sharedGauge(registry, {
    name: "stream_last_event_timestamp_seconds",
    help:
      "Unix time of the last event from the stream source (its creation time before the first)",
    labelNames: ["source"],
  }).labels(label);
  // Stamped once: a second call for the source must not hide its staleness.
  if (last.value === 0) last.setToCurrentTime();
  const reconnections = sharedCounter(registry, {
    name: "stream_reconnections_total",
    help: "Reconnections to the stream source",
    labelNames: ["source"],
  }).labels(label);
  const up = sharedGauge(registry, {
    name: "stream_up",
    help: "Whether the stream source is connected (1) or not (0)",
    labelNames: ["source"],
  });
  return {
    event: (count = 1) => {
      events.inc(count);
      last.setToCurrentTime();
    },
    reconnect: () => reconnections.inc(),
    up: (connected) => {
      if (typeof connected !== "boolean") {
        throw new TypeError(
          `Cannot set the state of stream source "${source}": connected must be a boolean, got ${typeof connected}`,
        );
      }
      up.labels(label).set(connected ? 1 : 0);
    },
  };
}

/** Options of {@linkcode streamKit}. */
export interface StreamKitOptions {
  /** Seconds without an event after which a source is stale (StaleStream), at least 1. @default {300} */
  readonly staleSeconds?: number;
  /** How long a source stays stale before StaleStream fires. @default {"1m"} */
  readonly staleFor?: string;
  /** Reconnections within `reconnectsWindow` above which FrequentReconnects fires, at least 1. @default {5} */
  readonly reconnects?: number;
  /** The window reconnections are counted over. @default {"15m"} */
  readonly reconnectsWindow?: string;
  /** How long the count stays high before FrequentReconnects fires. @default {"0m"} */
  readonly reconnectsFor?: string;
}

/**
 * The stream source kit's dashboard row and alerts, for the generators.
 * Both alerts are per instance: each instance holds its own connection.
 *
 * @param options The alerts' thresholds and durations.
 * @returns The kit.
 * @throws {RangeError} When `staleSeconds` or `reconnects` is below 1.
 * @throws {TypeError} When a duration is not a Prometheus duration.
 *
 * @example The kit's alerts
 * ```ts
 * import { streamKit } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(streamKit().alerts.map((a) => a.name), ["StaleStream", "FrequentReconnects"]);
 * ```
 */
export function streamKit(options: StreamKitOptions = {}): Kit {
  const kit = "stream";
  const stale = checkOption(
    kit,
    "staleSeconds",
    options.staleSeconds ?? 300,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  const staleFor = options.staleFor ?? "1m";
  durationMinutes(kit, "staleFor", staleFor);
  const reconnects = checkOption(
    kit,
    "reconnects",
    options.reconnects ?? 5,
    1,
    Number.MAX_SAFE_INTEGER,
  );
  const window = options.reconnectsWindow ?? "15m";
  const windowMinutes = durationMinutes(kit, "reconnectsWindow", window);
  if (windowMinutes < 2) {
    throw new RangeError(
      `Cannot create the stream kit: reconnectsWindow must be at least 2m, got "${window}"`,
    );
  }
  const reconnectsFor = options.reconnectsFor ?? "0m";
  durationMinutes(kit, "reconnectsFor", reconnectsFor);
  const source = 'source="quotes"';
  // The timestamp moves with time(), so `time() - ts` is `age` throughout.
  const aged = (n: number, age: number) => [{
    name: "stream_last_event_timestamp_seconds",
    labels: source,
    values: `${-age}+60x${n}`,
  }];
  // Reconnections at a steady pace: `count` of them in any window.
  const reconnecting = (n: number, count: number) => [{
    name: "stream_reconnections_total",
    labels: source,
    values: `0+${count / windowMinutes}x${n}`,
  }];
  return {
    kind: kit,
    title: "Stream sources",
    marker: "stream_events_total",
    families: [
      "stream_events_total",
      "stream_last_event_timestamp_seconds",
      "stream_reconnections_total",
      "stream_up",
    ],
    panels: [{
      title: "Events",
      type: "timeseries",
      unit: "ops",
      queries: [{
        expr: "sum by (source) (rate(stream_events_total[$__rate_interval]))",
        legend: "{{source}}",
      }],
    }, {
      title: "Seconds since the last event",
      type: "timeseries",
      unit: "s",
      min: 0,
      thresholds: [[stale, "red"]],
      queries: [{
        expr: "max by (source) (time() - stream_last_event_timestamp_seconds)",
        legend: "{{source}}",
      }],
    }, {
      title: "Reconnections",
      type: "timeseries",
      unit: "short",
      queries: [{
        expr:
          "sum by (source) (increase(stream_reconnections_total[$__rate_interval]))",
        legend: "{{source}}",
      }],
    }, {
      title: "Connected",
      type: "timeseries",
      unit: "short",
      min: 0,
      max: 1,
      mappings: { "0": ["down", "red"], "1": ["up", "green"] },
      queries: [{
        expr: "min by (source) (stream_up)",
        legend: "{{source}}",
      }],
    }],
    recording: [],
    alerts: [{
      name: "StaleStream",
      expr: `time() - stream_last_event_timestamp_seconds > ${stale}`,
      for: staleFor,
      severity: "warning",
      format: "humanize",
      summary: (l) => `Stale stream source ${l("source")} on ${l("instance")}`,
      description: (l, v) =>
        `Stream source ${l("source")} on ${
          l("instance")
        } has had no event for ${v}s (threshold ${stale}s)`,
      labels: { source: "quotes" },
      byInstance: true,
      // A second past the threshold, and a second within it when healthy.
      value: stale + 1,
      firing: (n) => aged(n, stale + 1),
      healthy: (n) => aged(n, stale - 1),
      rangeMinutes: 0,
    }, {
      name: "FrequentReconnects",
      expr: `increase(stream_reconnections_total[${window}]) > ${reconnects}`,
      for: reconnectsFor,
      severity: "warning",
      format: "humanize",
      summary: (l) =>
        `Frequent reconnections to stream source ${l("source")} on ${
          l("instance")
        }`,
      description: (l, v) =>
        `Stream source ${l("source")} on ${
          l("instance")
        } reconnected ${v} times in ${window} (threshold ${reconnects})`,
      labels: { source: "quotes" },
      byInstance: true,
      value: reconnects + 1,
      firing: (n) => reconnecting(n, reconnects + 1),
      healthy: (n) => reconnecting(n, reconnects - 0.5),
      rangeMinutes: windowMinutes,
    }],
  };
}
