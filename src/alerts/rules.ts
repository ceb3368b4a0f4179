// Prometheus alerting and recording rules generated from the families a
// registry holds, with `promtool test rules` cases for every alert.
import { stringify } from "yaml";
import type { Registry } from "../metrics/registry.ts";
import { clean, durationSeconds, type Format, FORMATS } from "./_format.ts";
import { exposedBounds, scoped, seriesNames } from "./_promql.ts";
import { kits } from "../kits/mod.ts";
import type { Kit, KitAlert, KitSeries } from "../kits/spec.ts";

/** Alert severities, as the `severity` label carries them. */
export const Severity = {
  critical: "critical",
  warning: "warning",
} as const;

/** An alert severity. */
export type Severity = typeof Severity[keyof typeof Severity];

/**
 * The thresholds and `for` durations of the generated alerts, and where
 * their runbook lives: what the `alerts` section of the config sets.
 */
export interface AlertThresholds {
  /** The share of 5xx responses over 5m above which HighErrorRate fires, in (0, 0.99]. @default {0.05} */
  errorRatio?: number;
  /** How long HighErrorRate's condition holds before it fires. @default {"5m"} */
  errorFor?: string;
  /** The p95 request latency in seconds above which HighLatencyP95 fires. @default {1} */
  latencyP95Seconds?: number;
  /** The p99 request latency in seconds above which HighLatencyP99 fires. @default {2.5} */
  latencyP99Seconds?: number;
  /** How long a latency condition holds before its alert fires. @default {"5m"} */
  latencyFor?: string;
  /** How long `up == 0` holds before ServiceDown fires. @default {"1m"} */
  serviceDownFor?: string;
  /** How long a health check fails before ComponentUnhealthy fires. @default {"2m"} */
  componentFor?: string;
  /** Drift warnings per model and detector over 10m above which HighDriftWarningRate fires. @default {3} */
  driftWarnings?: number;
  /** How long HighDriftWarningRate's condition holds before it fires. @default {"5m"} */
  driftWarningFor?: string;
  /** The recent accuracy below which LowModelAccuracy fires, in (0, 1]. @default {0.7} */
  accuracy?: number;
  /** How long LowModelAccuracy's condition holds before it fires. @default {"10m"} */
  accuracyFor?: string;
  /** The recent F1 score below which LowF1Score fires, in (0, 1]. @default {0.7} */
  f1Score?: number;
  /** How long LowF1Score's condition holds before it fires. @default {"10m"} */
  f1ScoreFor?: string;
  /** The age in seconds of the last training above which NoRecentTraining fires. @default {86400} */
  trainingMaxAgeSeconds?: number;
  /** How long NoRecentTraining's condition holds before it fires. @default {"10m"} */
  trainingFor?: string;
  /** Resident memory in bytes above which HighMemoryUsage fires. @default {1073741824} */
  memoryBytes?: number;
  /** How long HighMemoryUsage's condition holds before it fires. @default {"5m"} */
  memoryFor?: string;
  /** The p99 event-loop lag in seconds above which HighEventLoopLag fires. @default {0.2} */
  eventLoopLagSeconds?: number;
  /** How long HighEventLoopLag's condition holds before it fires. @default {"5m"} */
  eventLoopLagFor?: string;
  /** Where the runbook lives; each alert links to `<runbookBase>#<alertname in lower case>`. @default {"https://jsr.io/@vigil/observe"} */
  runbookBase?: string;
}

/** Options of {@linkcode generateAlertRules}. */
export interface AlertRuleOptions extends AlertThresholds {
  /**
   * The job Prometheus scrapes Vigil as: every selector keeps to it, so the
   * rules can share a Prometheus with other targets. Left out, the rules
   * read every job.
   */
  job?: string;
  /**
   * The bucket bounds of `http_request_duration_seconds`, for a registry
   * that has exposed none yet: a latency threshold must be below the
   * largest, or `histogram_quantile` could never exceed it.
   */
  buckets?: readonly number[];
  /**
   * The domain kits whose rules are added when their metrics are
   * registered (see `@vigil/observe/kits`).
   * @default {every kit, with its default thresholds}
   */
  kits?: readonly Kit[];
  /** The file name the tests load the rules from. @default {"vigil.rules.yml"} */
  rulesFile?: string;
  /** The prefix of the rule group names (`<prefix>.recording`, `<prefix>.alerts`). @default {"vigil"} */
  groupPrefix?: string;
}

/** What {@linkcode generateAlertRules} returns. */
export interface AlertRules {
  /** A Prometheus rule file, YAML. */
  rules: string;
  /** A `promtool test rules` file for it, YAML. */
  tests: string;
  /** The names of the alerts the rule file holds. */
  alerts: string[];
}

/**
 * The default of {@linkcode AlertThresholds.runbookBase}: the package's
 * page, whose README has a runbook section for every alert.
 */
export const DEFAULT_RUNBOOK_BASE = "https://jsr.io/@vigil/observe";

/** Every {@linkcode AlertThresholds} field at its default: the seeds' values. */
export const ALERT_DEFAULTS: Readonly<Required<AlertThresholds>> = Object
  .freeze({
    errorRatio: 0.05,
    errorFor: "5m",
    latencyP95Seconds: 1,
    latencyP99Seconds: 2.5,
    latencyFor: "5m",
    serviceDownFor: "1m",
    componentFor: "2m",
    driftWarnings: 3,
    driftWarningFor: "5m",
    accuracy: 0.7,
    accuracyFor: "10m",
    f1Score: 0.7,
    f1ScoreFor: "10m",
    trainingMaxAgeSeconds: 86400,
    trainingFor: "10m",
    memoryBytes: 1073741824,
    memoryFor: "5m",
    eventLoopLagSeconds: 0.2,
    eventLoopLagFor: "5m",
    runbookBase: DEFAULT_RUNBOOK_BASE,
  });

/** The largest value of each ratio field; the rest are positive numbers. */
const RATIO_MAX: Partial<Record<keyof AlertThresholds, number>> = {
  errorRatio: 0.99,
  accuracy: 1,
  f1Score: 1,
};

/**
 * Fills in the defaults of alert thresholds and checks every field.
 *
 * @param options The thresholds to check; absent fields take their default.
 * @returns Every field, checked.
 * @throws {TypeError} When a field has the wrong type, a duration is not a
 * Prometheus duration or the runbook is not an http(s) URL.
 * @throws {RangeError} When a threshold is out of range.
 *
 * @example Checking thresholds
 * ```ts
 * import { checkAlertThresholds } from "@vigil/observe/alerts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(checkAlertThresholds({ errorRatio: 0.01 }).errorFor, "5m");
 * assert.throws(() => checkAlertThresholds({ accuracy: 2 }), RangeError);
 * ```
 */
export function checkAlertThresholds(
  options: AlertThresholds,
): Required<AlertThresholds> {
  const resolved = { ...ALERT_DEFAULTS };
  for (const key of Object.keys(ALERT_DEFAULTS) as (keyof AlertThresholds)[]) {
    const value = options[key];
    if (value === undefined) continue;
    const fallback = ALERT_DEFAULTS[key];
    if (typeof value !== typeof fallback) {
      throw new TypeError(
        `Cannot generate alert rules: ${key} must be a ${typeof fallback}, got ${
          JSON.stringify(value)
        }`,
      );
    }
    if (key === "runbookBase") {
      const url = URL.parse(value as string);
      if (url === null || !/^https?:$/.test(url.protocol)) {
        throw new TypeError(
          `Cannot generate alert rules: runbookBase must be an http(s) URL, got "${value}"`,
        );
      }
    } else if (typeof value === "string") {
      durationSeconds(value, key); // "0s" fires at once, as in Prometheus
    } else {
      const max = RATIO_MAX[key];
      if (max === undefined) checkPositive(value, key);
      else checkRatio(value, key, max);
    }
    Object.assign(resolved, { [key]: value });
  }
  return resolved;
}

type Text = (label: (name: string) => string, value: string) => string;

interface Series {
  series: string;
  values: string;
}

interface AlertSpec {
  name: string;
  requires: readonly string[];
  expr: string;
  for: string;
  severity: Severity;
  format: Format;
  summary: Text;
  description: Text;
  /** The labels of the firing alert in the test, severity aside. */
  labels: Record<string, string>;
  /** The value the firing test's alert has. */
  value: number;
  firing: (n: number) => Series[];
  healthy: (n: number) => Series[];
  /** The longest range the expression reads, in minutes. */
  rangeMinutes: number;
}

interface RecordingSpec {
  record: string;
  expr: string;
  requires: readonly string[];
}

/** The `job` and `instance` of the target in the generated tests. */
interface Target {
  readonly job: string;
  readonly instance: string;
}

function series(
  target: Target,
  name: string,
  labels: string,
  values: string,
): Series {
  const own = `job=${JSON.stringify(target.job)},instance="${target.instance}"`;
  return {
    series: `${name}{${labels === "" ? own : `${own},${labels}`}}`,
    values,
  };
}

function checkRatio(value: number, field: string, max: number): number {
  if (!(Number.isFinite(value) && value > 0 && value <= max)) {
    throw new RangeError(
      `Cannot generate alert rules: ${field} must be in (0, ${max}], got ${value}`,
    );
  }
  return value;
}

function checkPositive(value: number, field: string): number {
  if (!(Number.isFinite(value) && value > 0)) {
    throw new RangeError(
      `Cannot generate alert rules: ${field} must be a positive number, got ${value}`,
    );
  }
  return value;
}

/**
 * Histogram buckets for a test: every count at or below 90 % of the
 * threshold when healthy (a p95 of 85.5 % of it), or above 110 % when
 * breaching (a quantile of 110 %, the highest finite bound).
 */
function histogramSeries(
  target: Target,
  name: string,
  labels: string,
  threshold: number,
  breach: boolean,
  n: number,
): Series[] {
  const low = String(clean(threshold * 0.9));
  const high = String(clean(threshold * 1.1));
  const moving = `0+60x${n}`;
  const still = `0x${n}`;
  const join = (
    le: string,
  ) => (labels === "" ? `le="${le}"` : `${labels},le="${le}"`);
  return [
    series(target, `${name}_bucket`, join(low), breach ? still : moving),
    series(target, `${name}_bucket`, join(high), breach ? still : moving),
    series(target, `${name}_bucket`, join("+Inf"), moving),
  ];
}

/** The family names in a registry's exposition (`# TYPE` lines). */
export async function registeredFamilies(
  registry: Registry,
): Promise<Set<string>> {
  return familiesOf(await registry.metrics());
}

function familiesOf(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const match = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (match?.[1] !== undefined) names.add(match[1]);
  }
  return names;
}

/**
 * Generates Prometheus recording and alerting rules for the metric families
 * a registry holds, and `promtool test rules` cases for them: each alert
 * fires on a synthetic series that breaches it for its `for` duration and
 * stays silent on a healthy one. An alert is present only when the families
 * it reads are registered; ServiceDown (`up == 0`) always is.
 *
 * @param registry The registry whose families the rules cover.
 * @param options Thresholds, `for` durations and the runbook's address.
 * @returns The rule file, its tests (both YAML) and the alert names.
 * @throws {RangeError} When a threshold is out of range.
 * @throws {TypeError} When a duration is not a Prometheus duration.
 *
 * @example Rules for an HTTP service
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { generateAlertRules } from "@vigil/observe/alerts";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * registry.counter({
 *   name: "http_requests_total",
 *   help: "Requests",
 *   labelNames: ["status"],
 * });
 * const { rules, alerts } = await generateAlertRules(registry, { errorRatio: 0.01 });
 * assert.deepEqual(alerts, ["HighErrorRate", "ServiceDown", "CardinalityOverflow"]);
 * assert.match(rules, /job:http_requests_error_ratio:rate5m > 0.01/);
 * await registry.close();
 * ```
 */
export async function generateAlertRules(
  registry: Registry,
  options: AlertRuleOptions = {},
): Promise<AlertRules> {
  const text = await registry.metrics();
  const families = familiesOf(text);
  for (const kit of options.kits ?? kits()) {
    if (!families.has(kit.marker)) continue;
    for (const { name, quantile } of kit.alerts) {
      if (quantile === undefined) continue;
      const bounds = [...exposedBounds(text, quantile.family).keys()];
      const top = Math.max(...bounds);
      if (bounds.length > 0 && quantile.threshold >= top) {
        throw new RangeError(
          `Cannot generate alert rules: ${name}'s ${quantile.option} must be below the largest bucket of ${quantile.family} (${top}), since histogram_quantile never exceeds it, got ${quantile.threshold}`,
        );
      }
    }
  }
  const exposed = [
    ...exposedBounds(text, "http_request_duration_seconds").keys(),
  ];
  return buildAlertRules(
    families,
    exposed.length > 0 ? { ...options, buckets: exposed } : options,
  );
}

/**
 * Builds the rules and tests of {@linkcode generateAlertRules} from a set
 * of family names (as `# TYPE` lines name them: counters with `_total`).
 *
 * @param families The registered family names.
 * @param options Thresholds, `for` durations and the runbook's address.
 * @returns The rule file, its tests (both YAML) and the alert names.
 * @throws {RangeError} When a threshold is out of range.
 * @throws {TypeError} When a duration is not a Prometheus duration.
 *
 * @example Rules from family names
 * ```ts
 * import { buildAlertRules } from "@vigil/observe/alerts";
 * import assert from "node:assert/strict";
 *
 * const { alerts } = buildAlertRules(new Set(["process_resident_memory_bytes"]));
 * assert.deepEqual(alerts, ["ServiceDown", "HighMemoryUsage"]);
 * ```
 */
export function buildAlertRules(
  families: ReadonlySet<string>,
  options: AlertRuleOptions = {},
): AlertRules {
  const t = checkAlertThresholds(options);
  const errorRatio = t.errorRatio;
  const p95 = t.latencyP95Seconds;
  const p99 = t.latencyP99Seconds;
  const driftWarnings = t.driftWarnings;
  const accuracy = t.accuracy;
  const f1 = t.f1Score;
  const maxAge = t.trainingMaxAgeSeconds;
  const memory = t.memoryBytes;
  const lag = t.eventLoopLagSeconds;
  const runbookBase = t.runbookBase;
  const rulesFile = options.rulesFile ?? "vigil.rules.yml";
  const prefix = options.groupPrefix ?? "vigil";
  if (options.job !== undefined && options.job === "") {
    throw new RangeError(
      'Cannot generate alert rules: job must be a non-empty string, got ""',
    );
  }
  const target: Target = {
    job: options.job ?? "vigil",
    instance: "vigil:9464",
  };
  const buckets = (options.buckets ?? []).filter(Number.isFinite);
  if (buckets.length > 0) {
    const top = Math.max(...buckets);
    for (
      const [key, value] of [
        ["latencyP95Seconds", p95],
        ["latencyP99Seconds", p99],
      ] as const
    ) {
      if (value >= top) {
        throw new RangeError(
          `Cannot generate alert rules: ${key} must be below the largest latency bucket (${top}), since histogram_quantile never exceeds it, got ${value}`,
        );
      }
    }
  }
  const durations = {
    error: t.errorFor,
    latency: t.latencyFor,
    down: t.serviceDownFor,
    component: t.componentFor,
    driftWarning: t.driftWarningFor,
    accuracy: t.accuracyFor,
    f1: t.f1ScoreFor,
    training: t.trainingFor,
    memory: t.memoryFor,
    lag: t.eventLoopLagFor,
  };

  const HTTP = "http_requests_total";
  const LATENCY = "http_request_duration_seconds";
  const LAG = "deno_event_loop_lag_seconds";
  const recording: RecordingSpec[] = [
    {
      record: "job:http_requests:rate5m",
      expr: `sum by (job) (rate(${HTTP}[5m]))`,
      requires: [HTTP],
    },
    {
      record: "job:http_requests_errors:rate5m",
      expr: `sum by (job) (rate(${HTTP}{status=~"5.."}[5m]))`,
      requires: [HTTP],
    },
    {
      // `or` keeps a zero error rate where no 5xx series exists yet.
      record: "job:http_requests_error_ratio:rate5m",
      expr:
        "(job:http_requests_errors:rate5m or job:http_requests:rate5m * 0) / job:http_requests:rate5m",
      requires: [HTTP],
    },
    {
      record: `job:${LATENCY}_bucket:rate5m`,
      expr: `sum by (job, le) (rate(${LATENCY}_bucket[5m]))`,
      requires: [LATENCY],
    },
    {
      record: `job:${LATENCY}:p50_5m`,
      expr: `histogram_quantile(0.5, job:${LATENCY}_bucket:rate5m)`,
      requires: [LATENCY],
    },
    {
      record: `job:${LATENCY}:p95_5m`,
      expr: `histogram_quantile(0.95, job:${LATENCY}_bucket:rate5m)`,
      requires: [LATENCY],
    },
    {
      record: `job:${LATENCY}:p99_5m`,
      expr: `histogram_quantile(0.99, job:${LATENCY}_bucket:rate5m)`,
      requires: [LATENCY],
    },
    {
      record: `instance:${LAG}:p99_5m`,
      expr:
        `histogram_quantile(0.99, sum by (job, instance, le) (rate(${LAG}_bucket[5m])))`,
      requires: [LAG],
    },
  ];

  const job = { job: target.job };
  const specs: AlertSpec[] = [
    {
      name: "HighErrorRate",
      requires: [HTTP],
      expr: `job:http_requests_error_ratio:rate5m > ${errorRatio}`,
      for: durations.error,
      severity: Severity.critical,
      format: "humanizePercentage",
      summary: (l) => `High HTTP error rate on ${l("job")}`,
      description: (l, v) =>
        `${v} of the requests to ${l("job")} answered 5xx over 5m (threshold ${
          errorRatio * 100
        }%)`,
      labels: job,
      // Just past the threshold (110 % of it), and just within it (90 %).
      value: errorShare(errorRatio, 1.1),
      firing: (n) => errorSeries(target, errorShare(errorRatio, 1.1), n),
      healthy: (n) => errorSeries(target, errorShare(errorRatio, 0.9), n),
      rangeMinutes: 5,
    },
    latencyAlert(target, 95, p95, Severity.warning, durations.latency),
    latencyAlert(target, 99, p99, Severity.critical, durations.latency),
    {
      name: "ServiceDown",
      requires: [],
      expr: "up == 0",
      for: durations.down,
      severity: Severity.critical,
      format: "humanize",
      summary: (l) => `${l("instance")} of ${l("job")} is down`,
      description: (l, v) =>
        `Prometheus cannot scrape ${l("instance")} of ${
          l("job")
        } (up = ${v}) for ${durations.down}`,
      labels: { ...target },
      value: 0,
      firing: (n) => [series(target, "up", "", `0x${n}`)],
      healthy: (n) => [series(target, "up", "", `1x${n}`)],
      rangeMinutes: 0,
    },
    {
      name: "ComponentUnhealthy",
      requires: ["vigil_health_check_status"],
      expr:
        'max by (job, instance, check) (vigil_health_check_status{status="fail"}) == 1',
      for: durations.component,
      severity: Severity.critical,
      format: "humanize",
      summary: (l) => `Health check ${l("check")} fails on ${l("instance")}`,
      description: (l, v) =>
        `The health check ${l("check")} of ${l("job")} on ${
          l("instance")
        } has failed (status ${v}) for ${durations.component}`,
      labels: { ...target, check: "db" },
      value: 1,
      firing: (n) => [
        series(
          target,
          "vigil_health_check_status",
          'check="db",status="fail"',
          `1x${n}`,
        ),
        series(
          target,
          "vigil_health_check_status",
          'check="db",status="pass"',
          `0x${n}`,
        ),
      ],
      healthy: (n) => [
        series(
          target,
          "vigil_health_check_status",
          'check="db",status="fail"',
          `0x${n}`,
        ),
        series(
          target,
          "vigil_health_check_status",
          'check="db",status="pass"',
          `1x${n}`,
        ),
      ],
      rangeMinutes: 0,
    },
    {
      name: "ConceptDriftDetected",
      requires: ["ml_drift_detected_total"],
      expr:
        'sum by (job, instance, model_name, detector_type) (increase(ml_drift_detected_total{severity="drift"}[5m])) > 0',
      for: "0s",
      severity: Severity.warning,
      format: "humanize",
      summary: (l) => `Concept drift in model ${l("model_name")}`,
      description: (l, v) =>
        `The ${l("detector_type")} detector of model ${l("model_name")} on ${
          l("instance")
        } reported ${v} drifts over 5m`,
      labels: { ...target, model_name: "fraud", detector_type: "ddm" },
      value: 5,
      firing: (n) => [
        series(
          target,
          "ml_drift_detected_total",
          'model_name="fraud",detector_type="ddm",severity="drift"',
          `0+1x${n}`,
        ),
      ],
      healthy: (n) => [
        series(
          target,
          "ml_drift_detected_total",
          'model_name="fraud",detector_type="ddm",severity="drift"',
          `0x${n}`,
        ),
      ],
      rangeMinutes: 5,
    },
    {
      name: "HighDriftWarningRate",
      requires: ["ml_drift_detected_total"],
      expr:
        `sum by (job, instance, model_name, detector_type) (increase(ml_drift_detected_total{severity="warning"}[10m])) > ${driftWarnings}`,
      for: durations.driftWarning,
      severity: Severity.warning,
      format: "humanize",
      summary: (l) => `Frequent drift warnings in model ${l("model_name")}`,
      description: (l, v) =>
        `The ${l("detector_type")} detector of model ${l("model_name")} on ${
          l("instance")
        } entered its warning zone ${v} times over 10m (threshold ${driftWarnings})`,
      labels: { ...target, model_name: "fraud", detector_type: "ddm" },
      value: 10 * (Math.floor(driftWarnings) + 1),
      firing: (n) => [
        series(
          target,
          "ml_drift_detected_total",
          'model_name="fraud",detector_type="ddm",severity="warning"',
          `0+${Math.floor(driftWarnings) + 1}x${n}`,
        ),
      ],
      healthy: (n) => [
        series(
          target,
          "ml_drift_detected_total",
          'model_name="fraud",detector_type="ddm",severity="warning"',
          `0x${n}`,
        ),
      ],
      rangeMinutes: 10,
    },
    gaugeBelow(
      target,
      "LowModelAccuracy",
      "ml_model_accuracy",
      "accuracy",
      accuracy,
      durations.accuracy,
    ),
    gaugeBelow(
      target,
      "LowF1Score",
      "ml_model_f1_score",
      "F1 score",
      f1,
      durations.f1,
    ),
    {
      name: "NoRecentTraining",
      requires: ["ml_last_training_timestamp_seconds"],
      expr: `time() - ml_last_training_timestamp_seconds > ${maxAge}`,
      for: durations.training,
      severity: Severity.warning,
      format: "humanize",
      summary: (l) => `Model ${l("model_name")} has not been trained recently`,
      description: (l, v) =>
        `Model ${l("model_name")} on ${
          l("instance")
        } was last trained ${v}s ago (threshold ${maxAge}s)`,
      labels: { ...target, model_name: "fraud" },
      value: 0, // set per evaluation time below
      firing: (n) => [
        series(
          target,
          "ml_last_training_timestamp_seconds",
          'model_name="fraud"',
          `-${maxAge}x${n}`,
        ),
      ],
      healthy: (n) => [
        series(
          target,
          "ml_last_training_timestamp_seconds",
          'model_name="fraud"',
          `0+60x${n}`,
        ),
      ],
      rangeMinutes: 0,
    },
    {
      name: "HighMemoryUsage",
      requires: ["process_resident_memory_bytes"],
      expr: `process_resident_memory_bytes > ${memory}`,
      for: durations.memory,
      severity: Severity.warning,
      format: "humanize1024",
      summary: (l) => `High memory use on ${l("instance")}`,
      description: (l, v) =>
        `${l("instance")} of ${
          l("job")
        } holds ${v}B of resident memory (threshold ${memory} bytes)`,
      labels: { ...target },
      value: Math.ceil(memory * 1.1),
      firing: (
        n,
      ) => [
        series(
          target,
          "process_resident_memory_bytes",
          "",
          `${Math.ceil(memory * 1.1)}x${n}`,
        ),
      ],
      healthy: (
        n,
      ) => [
        series(
          target,
          "process_resident_memory_bytes",
          "",
          `${Math.floor(memory * 0.9)}x${n}`,
        ),
      ],
      rangeMinutes: 0,
    },
    {
      name: "HighEventLoopLag",
      requires: [LAG],
      expr: `instance:${LAG}:p99_5m > ${lag}`,
      for: durations.lag,
      severity: Severity.warning,
      format: "humanize",
      summary: (l) => `Event loop lags on ${l("instance")}`,
      description: (l, v) =>
        `The 99th percentile of event-loop lag on ${l("instance")} of ${
          l("job")
        } is ${v}s over 5m (threshold ${lag}s)`,
      labels: { ...target },
      value: clean(lag * 1.1),
      firing: (n) => histogramSeries(target, LAG, "", lag, true, n),
      healthy: (n) => histogramSeries(target, LAG, "", lag, false, n),
      rangeMinutes: 5,
    },
    counterIncreases(
      target,
      "WorkerRestarting",
      "vigil_worker_restarts_total",
      10,
      (l, v) =>
        `${v} aggregation workers of ${l("instance")} restarted over 10m`,
    ),
    counterIncreases(
      target,
      "ObservationsDropped",
      "vigil_observations_dropped_total",
      5,
      (l, v) =>
        `${
          l("instance")
        } dropped ${v} observations over 5m because every batch slot waited for its worker`,
    ),
    {
      name: "CardinalityOverflow",
      requires: ["vigil_cardinality_overflow_total"],
      expr:
        "sum by (job, instance, metric, reason) (increase(vigil_cardinality_overflow_total[5m])) > 0",
      for: "0s",
      severity: Severity.warning,
      format: "humanize",
      summary: (l) => `Metric ${l("metric")} overflows on ${l("instance")}`,
      description: (l, v) =>
        `${v} lookups of ${l("metric")} on ${
          l("instance")
        } went to its overflow series over 5m (reason ${l("reason")})`,
      labels: {
        ...target,
        metric: "requests_total",
        reason: "cardinality",
      },
      value: 50,
      firing: (n) => [
        series(
          target,
          "vigil_cardinality_overflow_total",
          'metric="requests_total",reason="cardinality"',
          `0+10x${n}`,
        ),
      ],
      healthy: (n) => [
        series(
          target,
          "vigil_cardinality_overflow_total",
          'metric="requests_total",reason="cardinality"',
          `0x${n}`,
        ),
      ],
      rangeMinutes: 5,
    },
  ];
  const kitFamilies: string[] = [];
  for (const kit of options.kits ?? kits()) {
    if (!families.has(kit.marker)) continue;
    kitFamilies.push(...kit.families);
    for (const { record, expr } of kit.recording) {
      recording.push({ record, expr, requires: [kit.marker] });
    }
    specs.push(...kit.alerts.map((alert) => kitAlert(alert, kit, target)));
  }

  const present = specs.filter((spec) =>
    spec.requires.every((name) => families.has(name))
  );
  const records = recording.filter((spec) =>
    spec.requires.every((name) => families.has(name))
  );
  const metrics = seriesNames(
    [...present, ...records].flatMap((spec) => spec.requires).concat(
      kitFamilies,
    ),
  );
  // Recorded series carry `job` too: an alert reads its own job's only.
  for (const { record } of records) metrics.add(record);
  const scope = (expr: string) => scoped(expr, options.job, metrics);
  const runbook = (name: string) => `${runbookBase}#${name.toLowerCase()}`;
  const templateLabel = (name: string) => `{{ $labels.${name} }}`;

  const groups: unknown[] = [];
  if (records.length > 0) {
    groups.push({
      name: `${prefix}.recording`,
      rules: records.map(({ record, expr }) => ({ record, expr: scope(expr) })),
    });
  }
  groups.push({
    name: `${prefix}.alerts`,
    rules: present.map((spec) => ({
      alert: spec.name,
      expr: scope(spec.expr),
      for: spec.for,
      labels: { severity: spec.severity },
      annotations: {
        summary: spec.summary(templateLabel, ""),
        description: spec.description(
          templateLabel,
          `{{ $value | ${spec.format} }}`,
        ),
        runbook_url: runbook(spec.name),
      },
    })),
  });

  const testCases = present.map((spec) => {
    const forMinutes = Math.ceil(durationSeconds(spec.for, "for") / 60);
    const evalMinutes = forMinutes + spec.rangeMinutes + 2;
    const n = evalMinutes + 2;
    const value = spec.name === "NoRecentTraining"
      ? maxAge + evalMinutes * 60
      : spec.value;
    const label = (name: string) => spec.labels[name] ?? "";
    return [
      {
        name: `${spec.name} fires`,
        interval: "1m",
        input_series: spec.firing(n),
        alert_rule_test: [
          ...(forMinutes > 0
            ? [{
              // Breaching since the first minute at most, but not for `for`.
              eval_time: `${forMinutes - 1}m`,
              alertname: spec.name,
              exp_alerts: [],
            }]
            : []),
          {
            eval_time: `${evalMinutes}m`,
            alertname: spec.name,
            exp_alerts: [{
              exp_labels: { ...spec.labels, severity: spec.severity },
              exp_annotations: {
                summary: spec.summary(label, ""),
                description: spec.description(
                  label,
                  FORMATS[spec.format](value),
                ),
                runbook_url: runbook(spec.name),
              },
            }],
          },
        ],
      },
      {
        name: `${spec.name} stays silent`,
        interval: "1m",
        input_series: spec.healthy(n),
        alert_rule_test: [{
          eval_time: `${evalMinutes}m`,
          alertname: spec.name,
          exp_alerts: [],
        }],
      },
    ];
  }).flat();

  const yaml = { lineWidth: 0 } as const;
  return {
    rules: stringify({ groups }, yaml),
    tests: stringify({
      rule_files: [rulesFile],
      evaluation_interval: "1m",
      tests: testCases,
    }, yaml),
    alerts: present.map((spec) => spec.name),
  };
}

/** A kit's alert as the generator's own: its test series on the target. */
function kitAlert(alert: KitAlert, kit: Kit, target: Target): AlertSpec {
  const on = (list: readonly KitSeries[]) =>
    list.map(({ name, labels, values }) =>
      series(target, name, labels, values)
    );
  return {
    name: alert.name,
    requires: [kit.marker],
    expr: alert.expr,
    for: alert.for,
    severity: alert.severity,
    format: alert.format,
    summary: (label) => alert.summary(label),
    description: alert.description,
    labels: alert.byInstance
      ? { ...target, ...alert.labels }
      : { job: target.job, ...alert.labels },
    value: alert.value,
    firing: (n) => on(alert.firing(n)),
    healthy: (n) => on(alert.healthy(n)),
    rangeMinutes: alert.rangeMinutes,
  };
}

/** Requests a minute in the error-rate tests. */
const ERROR_TEST_RATE = 100000;

/**
 * HighLatencyP95 or HighLatencyP99: the recorded quantile of request
 * latency above `threshold` seconds; its tests put every request past
 * 110 % of it, or within 90 %.
 */
function latencyAlert(
  target: Target,
  quantile: 95 | 99,
  threshold: number,
  severity: Severity,
  duration: string,
): AlertSpec {
  const latency = "http_request_duration_seconds";
  const observed = (breach: boolean) => (n: number) =>
    histogramSeries(
      target,
      latency,
      'method="GET",route="/"',
      threshold,
      breach,
      n,
    );
  return {
    name: `HighLatencyP${quantile}`,
    requires: [latency],
    expr: `job:${latency}:p${quantile}_5m > ${threshold}`,
    for: duration,
    severity,
    format: "humanize",
    summary: (l) => `High p${quantile} latency on ${l("job")}`,
    description: (l, v) =>
      `The ${quantile}th percentile of request latency on ${
        l("job")
      } is ${v}s over 5m (threshold ${threshold}s)`,
    labels: { job: target.job },
    value: clean(threshold * 1.1),
    firing: observed(true),
    healthy: observed(false),
    rangeMinutes: 5,
  };
}

/** `factor` times the error ratio, in whole requests of the test's rate. */
function errorShare(ratio: number, factor: number): number {
  const failing = Math.round(ratio * factor * ERROR_TEST_RATE);
  return Math.min(ERROR_TEST_RATE, Math.max(1, failing)) / ERROR_TEST_RATE;
}

/** Requests to one route with the share `bad` answering 500. */
function errorSeries(target: Target, bad: number, n: number): Series[] {
  const failing = Math.round(bad * ERROR_TEST_RATE);
  return [
    series(
      target,
      "http_requests_total",
      'method="GET",route="/",status="200"',
      `0+${ERROR_TEST_RATE - failing}x${n}`,
    ),
    series(
      target,
      "http_requests_total",
      'method="GET",route="/",status="500"',
      `0+${failing}x${n}`,
    ),
  ];
}

function gaugeBelow(
  target: Target,
  name: string,
  metric: string,
  what: string,
  threshold: number,
  duration: string,
): AlertSpec {
  return {
    name,
    requires: [metric],
    expr: `${metric}{window="recent"} < ${threshold}`,
    for: duration,
    severity: Severity.warning,
    format: "humanizePercentage",
    summary: (l) => `Low ${what} of model ${l("model_name")}`,
    description: (l, v) =>
      `The recent ${what} of model ${l("model_name")} on ${
        l("instance")
      } is ${v} (threshold ${threshold * 100}%)`,
    labels: { ...target, model_name: "fraud", window: "recent" },
    // Just past the threshold, and just within it when healthy.
    value: clean(threshold * 0.9),
    firing: (
      n,
    ) => [
      series(
        target,
        metric,
        'model_name="fraud",window="recent"',
        `${clean(threshold * 0.9)}x${n}`,
      ),
    ],
    healthy: (n) => [
      series(
        target,
        metric,
        'model_name="fraud",window="recent"',
        `${Math.min(1, clean(threshold * 1.1))}x${n}`,
      ),
      series(
        target,
        metric,
        'model_name="fraud",window="lifetime"',
        `${threshold / 2}x${n}`,
      ),
    ],
    rangeMinutes: 0,
  };
}

function counterIncreases(
  target: Target,
  name: string,
  metric: string,
  minutes: number,
  description: Text,
): AlertSpec {
  return {
    name,
    requires: [metric],
    expr: `increase(${metric}[${minutes}m]) > 0`,
    for: "0s",
    severity: Severity.warning,
    format: "humanize",
    summary: (l) => `${name} on ${l("instance")}`,
    description,
    labels: { ...target },
    value: 10 * minutes,
    firing: (n) => [series(target, metric, "", `0+10x${n}`)],
    healthy: (n) => [series(target, metric, "", `0x${n}`)],
    rangeMinutes: minutes,
  };
}
