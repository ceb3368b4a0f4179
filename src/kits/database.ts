// The database kit: a connection pool's gauges, query latency and errors.
import type { Registry } from "../metrics/registry.ts";
import { timed } from "../metrics/timed.ts";
import type { Kit, KitSeries } from "./spec.ts";
import {
  componentName,
  sharedCounter,
  sharedGauge,
  sharedHistogram,
} from "./_families.ts";
import { countOption, durationOption, numberOption } from "./_options.ts";

/** Options of {@linkcode databaseMetrics}. */
export interface DatabaseMetricsOptions {
  /** The pool's name: the `pool` label of its series, e.g. `main`. */
  readonly name: string;
  /**
   * Buckets of `db_query_duration_seconds`.
   * @default {[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]}
   */
  readonly buckets?: readonly number[];
  /**
   * Distinct `error` labels kept per operation; later kinds are counted
   * as `other`.
   * @default {20}
   */
  readonly maxErrorKinds?: number;
}

/** What {@linkcode databaseMetrics} returns: one pool's helpers. */
export interface DatabaseMetrics {
  /** Sets the connections in use and idle (`db_connections{state}`). */
  connections(counts: { readonly active: number; readonly idle: number }): void;
  /** Sets the pool's maximum size (`db_connection_pool_size`). */
  poolSize(size: number): void;
  /**
   * Runs `fn`, a query such as `select` or `insert`, and records its
   * seconds in `db_query_duration_seconds{operation}`, on success and
   * failure; a promise is timed until it settles.
   */
  timed<T>(operation: string, fn: () => T): T;
  /**
   * Counts a failed query in `db_errors_total{operation,error}`: `error`
   * is a given kind (`timeout`) or a thrown value, labelled with its class
   * name (`name`, else its constructor's), `unknown` for other values.
   */
  error(operation: string, error: unknown): void;
}

/** Queries take a millisecond to seconds. */
const BUCKETS: readonly number[] = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

/** The `error` label of kinds past the per-operation cap. */
const OTHER = "other";

/** The class name of an error, or the kind a caller gave. */
function errorKind(error: unknown): string {
  if (typeof error === "string") return error === "" ? "unknown" : error;
  if (error instanceof Error) {
    // A plain Error renamed by assignment keeps the name; a subclass that
    // does not set one is known by its constructor.
    if (error.name !== "" && error.name !== "Error") return error.name;
    return error.constructor?.name || "Error";
  }
  return "unknown";
}

/**
 * Metrics of one connection pool, registered once per registry and shared
 * by every pool: `db_connections{pool,state="active"|"idle"}`,
 * `db_connection_pool_size{pool}`,
 * `db_query_duration_seconds{pool,operation}` and
 * `db_errors_total{pool,operation,error}`. The generated dashboards show
 * the pool's use against its size, query p95 and errors; the rules alert
 * with DatabaseConnectionPoolExhausted and SlowDatabaseQueries.
 *
 * @param registry Where the metrics live.
 * @param options The pool's name, latency buckets and error-kind cap.
 * @returns The pool's helpers.
 * @throws {TypeError} When the name is empty, or the registry holds one of
 * the names as another metric.
 * @throws {RangeError} When `maxErrorKinds` is not a whole number of at
 * least 1.
 *
 * @example Time queries and count their errors
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { databaseMetrics } from "@vigil/observe/kits";
 * import { sampleValue } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const db = databaseMetrics(registry, { name: "main" });
 * db.poolSize(10);
 * db.connections({ active: 3, idle: 7 });
 * const rows = await db.timed("select", async () => [{ id: 1 }]);
 * try {
 *   await db.timed("insert", () => Promise.reject(new RangeError("duplicate key")));
 * } catch (error) {
 *   db.error("insert", error);
 * }
 * assert.equal(rows.length, 1);
 * assert.equal(
 *   await sampleValue(registry, "db_errors_total", {
 *     pool: "main",
 *     operation: "insert",
 *     error: "RangeError",
 *   }),
 *   1,
 * );
 * await registry.close();
 * ```
 */
export function databaseMetrics(
  registry: Registry,
  options: DatabaseMetricsOptions,
): DatabaseMetrics {
  const pool = componentName("database", options?.name);
  const maxKinds = countOption(
    "the database kit",
    "maxErrorKinds",
    options.maxErrorKinds ?? 20,
    1,
  );
  const connections = sharedGauge(registry, {
    name: "db_connections",
    help: "Connections of the pool, by state: active (in use) or idle",
    labelNames: ["pool", "state"],
  });
  const active = connections.labels({ pool, state: "active" });
  const idle = connections.labels({ pool, state: "idle" });
  const size = sharedGauge(registry, {
    name: "db_connection_pool_size",
    help: "Most connections the pool opens",
    labelNames: ["pool"],
  }).labels({ pool });
  const duration = sharedHistogram(registry, {
    name: "db_query_duration_seconds",
    help: "Time of database queries, by operation",
    labelNames: ["pool", "operation"],
    buckets: options.buckets ?? BUCKETS,
  });
  const errors = sharedCounter(registry, {
    name: "db_errors_total",
    help: "Failed database queries, by operation and error class",
    labelNames: ["pool", "operation", "error"],
  });
  const kinds = new Map<string, Set<string>>();
  return {
    connections(counts) {
      active.set(counts.active);
      idle.set(counts.idle);
    },
    poolSize: (n) => size.set(n),
    timed: (operation, fn) => timed(duration.labels({ pool, operation }), fn),
    error(operation, error) {
      let seen = kinds.get(operation);
      if (seen === undefined) kinds.set(operation, seen = new Set());
      let kind = errorKind(error);
      if (!seen.has(kind)) {
        if (seen.size < maxKinds) seen.add(kind);
        else kind = OTHER;
      }
      errors.labels({ pool, operation, error: kind }).inc();
    },
  };
}

/** The query p95 recorded per job, pool and operation. */
const QUERY_P95 = "job_pool_operation:db_query_duration_seconds:p95_rate5m";

/** Options of {@linkcode databaseKit}. */
export interface DatabaseKitOptions {
  /**
   * The share of the pool's connections in use at or above which
   * DatabaseConnectionPoolExhausted fires, in (0, 1].
   * @default {0.95}
   */
  readonly poolUsage?: number;
  /** How long the pool stays that full before it fires. @default {"5m"} */
  readonly poolUsageFor?: string;
  /** The p95 query latency in seconds above which SlowDatabaseQueries fires. @default {0.5} */
  readonly queryP95Seconds?: number;
  /** How long the p95 stays that slow before it fires. @default {"10m"} */
  readonly queryP95For?: string;
}

/**
 * The database kit's dashboard row, recording rule and alerts, for the
 * generators: DatabaseConnectionPoolExhausted (an instance's pool has at
 * least 95 % of its connections in use for 5m) and SlowDatabaseQueries
 * (an operation's p95 over 0.5 s for 10m).
 *
 * @param options The alerts' thresholds and durations.
 * @returns The kit.
 * @throws {TypeError} When an option has the wrong type or a duration is
 * not a Prometheus duration.
 * @throws {RangeError} When a threshold is out of range.
 *
 * @example The kit's alerts
 * ```ts
 * import { databaseKit } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(databaseKit().alerts.map((a) => a.name), [
 *   "DatabaseConnectionPoolExhausted",
 *   "SlowDatabaseQueries",
 * ]);
 * ```
 */
export function databaseKit(options: DatabaseKitOptions = {}): Kit {
  const subject = "the database kit";
  const usage = numberOption(
    subject,
    "poolUsage",
    options.poolUsage ?? 0.95,
    0,
    1,
  );
  const usageFor = options.poolUsageFor ?? "5m";
  durationOption(subject, "poolUsageFor", usageFor);
  const p95 = numberOption(
    subject,
    "queryP95Seconds",
    options.queryP95Seconds ?? 0.5,
    0,
    Number.MAX_VALUE,
  );
  const p95For = options.queryP95For ?? "10m";
  durationOption(subject, "queryP95For", p95For);

  // A pool of 1000: the firing case has just the threshold's share in use,
  // the healthy one a connection less, and a pool whose size was never set
  // (0), which must not divide into +Inf.
  const inUse = Math.ceil(Number((usage * 1000).toPrecision(12)));
  const pool = (n: number, active: number): KitSeries[] => [
    {
      name: "db_connections",
      labels: 'pool="main",state="active"',
      values: `${active}x${n}`,
    },
    {
      name: "db_connections",
      labels: 'pool="main",state="idle"',
      values: `${1000 - active}x${n}`,
    },
    {
      name: "db_connection_pool_size",
      labels: 'pool="main"',
      values: `1000x${n}`,
    },
  ];
  // 1000 queries a minute, `fast` of them within the threshold and the rest
  // within twice it: the p95 is p95 * 950 / fast when fast > 950, else
  // p95 * (1 + (950 - fast) / (1000 - fast)).
  const queries = (n: number, fast: number): KitSeries[] =>
    [[p95, fast], [p95 * 2, 1000], ["+Inf", 1000]].map(([le, count]) => ({
      name: "db_query_duration_seconds_bucket",
      labels: `pool="main",operation="select",le="${le}"`,
      values: `0+${count}x${n}`,
    }));
  const rate = (metric: string, by: string) =>
    `sum by (${by}) (rate(${metric}[$__rate_interval]))`;
  return {
    kind: "database",
    title: "Databases",
    marker: "db_connections",
    families: [
      "db_connections",
      "db_connection_pool_size",
      "db_query_duration_seconds",
      "db_errors_total",
    ],
    panels: [{
      title: "Connections",
      type: "timeseries",
      unit: "short",
      min: 0,
      queries: [
        {
          expr: 'sum by (pool) (db_connections{state="active"})',
          legend: "{{pool}} active",
        },
        {
          expr: 'sum by (pool) (db_connections{state="idle"})',
          legend: "{{pool}} idle",
        },
        {
          expr: "sum by (pool) (db_connection_pool_size)",
          legend: "{{pool}} pool size",
        },
      ],
    }, {
      title: "Query latency p95",
      type: "timeseries",
      unit: "s",
      thresholds: [[p95, "red"]],
      queries: [{
        expr:
          "histogram_quantile(0.95, sum by (pool, operation, le) (rate(db_query_duration_seconds_bucket[$__rate_interval])))",
        legend: "{{pool}} {{operation}}",
      }],
    }, {
      title: "Errors",
      type: "timeseries",
      unit: "ops",
      queries: [{
        expr: rate("db_errors_total", "pool, operation, error"),
        legend: "{{pool}} {{operation}} {{error}}",
      }],
    }],
    recording: [{
      record: QUERY_P95,
      expr:
        "histogram_quantile(0.95, sum by (job, pool, operation, le) (rate(db_query_duration_seconds_bucket[5m])))",
    }],
    alerts: [{
      name: "DatabaseConnectionPoolExhausted",
      // Per instance: each process has its own pool, and a sum over
      // instances would hide one that is full. A pool size of 0 (never
      // set) is left out rather than dividing into +Inf.
      expr:
        `sum without (state) (db_connections{state="active"}) / (db_connection_pool_size > 0) >= ${usage}`,
      for: usageFor,
      severity: "critical",
      format: "humanizePercentage",
      summary: (l) =>
        `Connection pool ${l("pool")} exhausted on ${l("instance")}`,
      description: (l, v) =>
        `Pool ${l("pool")} of ${l("job")} on ${
          l("instance")
        } has ${v} of its connections in use (threshold ${
          Number((usage * 100).toPrecision(12))
        }%): queries wait for a connection`,
      labels: { pool: "main" },
      byInstance: true,
      value: inUse / 1000,
      firing: (n) => pool(n, inUse),
      healthy: (n) => [
        ...pool(n, inUse - 1),
        {
          name: "db_connections",
          labels: 'pool="unsized",state="active"',
          values: `5x${n}`,
        },
        {
          name: "db_connection_pool_size",
          labels: 'pool="unsized"',
          values: `0x${n}`,
        },
      ],
      rangeMinutes: 0,
    }, {
      name: "SlowDatabaseQueries",
      quantile: {
        family: "db_query_duration_seconds",
        threshold: p95,
        option: "queryP95Seconds",
      },
      expr: `${QUERY_P95} > ${p95}`,
      for: p95For,
      severity: "warning",
      format: "humanize",
      summary: (l) =>
        `Slow ${l("operation")} queries on pool ${l("pool")} of ${l("job")}`,
      description: (l, v) =>
        `The p95 of ${l("operation")} queries on pool ${l("pool")} of ${
          l("job")
        } is ${v}s over 5m (threshold ${p95}s)`,
      labels: { pool: "main", operation: "select" },
      byInstance: false,
      value: p95 * (1 + 1 / 51),
      firing: (n) => queries(n, 949),
      healthy: (n) => queries(n, 951),
      rangeMinutes: 5,
    }],
  };
}
