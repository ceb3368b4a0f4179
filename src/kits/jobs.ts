// The background jobs kit: outcomes, duration and jobs running, per queue.
import type { Registry } from "../metrics/registry.ts";
import { timed } from "../metrics/timed.ts";
import type { Kit, KitSeries } from "./spec.ts";
import {
  componentName,
  sharedCounter,
  sharedGauge,
  sharedHistogram,
} from "./_families.ts";
import { durationOption, numberOption } from "./_options.ts";

/** The `status` label values of `jobs_total`. */
export const JobStatus = {
  /** The job returned, or its promise resolved. */
  success: "success",
  /** The job threw, or its promise rejected. */
  failure: "failure",
} as const;

/** A job's outcome. */
export type JobStatus = typeof JobStatus[keyof typeof JobStatus];

/** Options of {@linkcode jobMetrics}. */
export interface JobMetricsOptions {
  /** The queue's name: the `queue` label of its series, e.g. `emails`. */
  readonly name: string;
  /**
   * Buckets of `job_duration_seconds`.
   * @default {[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]}
   */
  readonly buckets?: readonly number[];
}

/** A job started with {@linkcode JobMetrics.started}; the first outcome counts. */
export interface JobRun {
  /** Counts the job as succeeded and records its duration. */
  succeeded(): void;
  /** Counts the job as failed and records its duration. */
  failed(): void;
}

/** What {@linkcode jobMetrics} returns: one queue's helpers. */
export interface JobMetrics {
  /**
   * Marks a job as running (`jobs_in_progress`) until its
   * `succeeded()` or `failed()`, which count it in `jobs_total{status}`
   * and record its seconds in `job_duration_seconds`. For jobs whose
   * start and end are separate events.
   */
  started(): JobRun;
  /**
   * Runs `fn` as one job: in progress while it runs, its seconds
   * recorded, counted as a success when it returns or resolves and as a
   * failure when it throws or rejects.
   */
  run<T>(fn: () => T): T;
}

/** Jobs take from tens of milliseconds to minutes. */
const BUCKETS: readonly number[] = [
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
  60,
  120,
  300,
  600,
];

/**
 * Metrics of one job queue, registered once per registry and shared by
 * every queue: `jobs_total{queue,status="success"|"failure"}`,
 * `job_duration_seconds{queue}` and `jobs_in_progress{queue}`. The
 * generated dashboards show throughput by status, the failing share,
 * duration and jobs running; the rules alert with BackgroundJobFailures.
 *
 * @param registry Where the metrics live.
 * @param options The queue's name and duration buckets.
 * @returns The queue's helpers.
 * @throws {TypeError} When the name is empty, or the registry holds one of
 * the names as another metric.
 *
 * @example Run jobs, and report one whose end is an event
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { jobMetrics } from "@vigil/observe/kits";
 * import { sampleValue } from "@vigil/observe/testing";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const emails = jobMetrics(registry, { name: "emails" });
 * const sent = await emails.run(async () => "sent");
 * const job = emails.started();
 * assert.equal(await sampleValue(registry, "jobs_in_progress", { queue: "emails" }), 1);
 * job.failed();
 * assert.equal(sent, "sent");
 * assert.equal(
 *   await sampleValue(registry, "jobs_total", { queue: "emails", status: "failure" }),
 *   1,
 * );
 * await registry.close();
 * ```
 */
export function jobMetrics(
  registry: Registry,
  options: JobMetricsOptions,
): JobMetrics {
  const queue = componentName("jobs", options?.name);
  const total = sharedCounter(registry, {
    name: "jobs_total",
    help: "Background jobs finished, by status",
    labelNames: ["queue", "status"],
  });
  const success = total.labels({ queue, status: JobStatus.success });
  const failure = total.labels({ queue, status: JobStatus.failure });
  const duration = sharedHistogram(registry, {
    name: "job_duration_seconds",
    help: "Time background jobs ran, successful or not",
    labelNames: ["queue"],
    buckets: options.buckets ?? BUCKETS,
  }).labels({ queue });
  const inProgress = sharedGauge(registry, {
    name: "jobs_in_progress",
    help: "Background jobs running",
    labelNames: ["queue"],
  }).labels({ queue });
  const finish = (ok: boolean) => {
    inProgress.dec();
    (ok ? success : failure).inc();
  };
  return {
    started() {
      inProgress.inc();
      const start = performance.now();
      let done = false;
      const end = (ok: boolean) => {
        if (done) return;
        done = true;
        duration.observe((performance.now() - start) / 1000);
        finish(ok);
      };
      return { succeeded: () => end(true), failed: () => end(false) };
    },
    run(fn) {
      inProgress.inc();
      let result;
      try {
        result = timed(duration, fn);
      } catch (error) {
        finish(false);
        throw error;
      }
      if (isThenable(result)) {
        return result.then(
          (value) => {
            finish(true);
            return value;
          },
          (error: unknown) => {
            finish(false);
            throw error;
          },
        ) as typeof result;
      }
      finish(true);
      return result;
    },
  };
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function";
}

/** The failing share recorded per job and queue. */
const FAILURE_RATIO = "job_queue:jobs_failed:ratio_rate5m";

/** Options of {@linkcode jobsKit}. */
export interface JobsKitOptions {
  /** The failing share of jobs above which BackgroundJobFailures fires, in (0, 1). @default {0.1} */
  readonly failureRatio?: number;
  /** How long the share stays high before it fires. @default {"10m"} */
  readonly failureRatioFor?: string;
}

/**
 * The background jobs kit's dashboard row, recording rule and alert, for
 * the generators: BackgroundJobFailures fires when over 10 % of a queue's
 * jobs fail over 5m, for 10m.
 *
 * @param options The alert's threshold and duration.
 * @returns The kit.
 * @throws {TypeError} When an option has the wrong type or the duration
 * is not a Prometheus duration.
 * @throws {RangeError} When the threshold is out of range.
 *
 * @example The kit's alert
 * ```ts
 * import { jobsKit } from "@vigil/observe/kits";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(jobsKit().alerts.map((a) => a.name), ["BackgroundJobFailures"]);
 * ```
 */
export function jobsKit(options: JobsKitOptions = {}): Kit {
  const subject = "the jobs kit";
  const threshold = numberOption(
    subject,
    "failureRatio",
    options.failureRatio ?? 0.1,
    0,
    1,
    true,
  );
  const thresholdFor = options.failureRatioFor ?? "10m";
  durationOption(subject, "failureRatioFor", thresholdFor);
  // 1000 jobs a minute, a job more than the threshold's share failing, or
  // a job less.
  const edge = Number((threshold * 1000).toPrecision(12));
  const jobs = (n: number, failing: number): KitSeries[] => [
    {
      name: "jobs_total",
      labels: 'queue="emails",status="success"',
      values: `0+${1000 - failing}x${n}`,
    },
    {
      name: "jobs_total",
      labels: 'queue="emails",status="failure"',
      values: `0+${failing}x${n}`,
    },
  ];
  const firing = Math.floor(edge) + 1;
  const rate = (selector: string) =>
    `sum by (queue) (rate(${selector}[$__rate_interval]))`;
  return {
    kind: "jobs",
    title: "Background jobs",
    marker: "jobs_total",
    families: ["jobs_total", "job_duration_seconds", "jobs_in_progress"],
    panels: [{
      title: "Throughput",
      type: "timeseries",
      unit: "ops",
      queries: [{
        expr: "sum by (queue, status) (rate(jobs_total[$__rate_interval]))",
        legend: "{{queue}} {{status}}",
      }],
    }, {
      title: "Failing share",
      type: "timeseries",
      unit: "percentunit",
      min: 0,
      max: 1,
      thresholds: [[threshold, "red"]],
      queries: [{
        expr: `${rate('jobs_total{status="failure"}')} / ${rate("jobs_total")}`,
        legend: "{{queue}}",
      }],
    }, {
      title: "Duration",
      type: "timeseries",
      unit: "s",
      queries: [0.5, 0.95].map((q) => ({
        expr:
          `histogram_quantile(${q}, sum by (queue, le) (rate(job_duration_seconds_bucket[$__rate_interval])))`,
        legend: `{{queue}} p${q * 100}`,
      })),
    }, {
      title: "In progress",
      type: "timeseries",
      unit: "short",
      min: 0,
      queries: [{
        expr: "sum by (queue) (jobs_in_progress)",
        legend: "{{queue}}",
      }],
    }],
    recording: [{
      record: FAILURE_RATIO,
      expr:
        'sum by (job, queue) (rate(jobs_total{status="failure"}[5m])) / sum by (job, queue) (rate(jobs_total[5m]))',
    }],
    alerts: [{
      name: "BackgroundJobFailures",
      expr: `${FAILURE_RATIO} > ${threshold}`,
      for: thresholdFor,
      severity: "warning",
      format: "humanizePercentage",
      summary: (l) => `Jobs of queue ${l("queue")} failing on ${l("job")}`,
      description: (l, v) =>
        `${v} of the jobs of queue ${l("queue")} on ${
          l("job")
        } failed over 5m (threshold ${
          Number((threshold * 100).toPrecision(12))
        }%)`,
      labels: { queue: "emails" },
      byInstance: false,
      value: firing / 1000,
      firing: (n) => jobs(n, firing),
      healthy: (n) => jobs(n, Math.ceil(edge) - 1),
      rangeMinutes: 5,
    }],
  };
}
