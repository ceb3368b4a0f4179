// Service-level objectives as Sloth and Pyrra generate them: error-ratio
// recording rules, multi-window multi-burn-rate alerts (Google SRE workbook)
// and an error-budget gauge, with `promtool test rules` cases for them.
import { stringify } from "yaml";
import type { Registry } from "../metrics/registry.ts";
import { formatBound } from "../base/_text.ts";
import { clean, durationSeconds } from "./_format.ts";
import { exposedBounds, scoped, seriesNames } from "./_promql.ts";
import { DEFAULT_RUNBOOK_BASE, registeredFamilies, Severity } from "./rules.ts";

/** The kinds of service-level objective. */
export const SloKind = {
  /** The share of requests that did not answer 5xx. */
  availability: "availability",
  /** The share of requests faster than a latency bucket bound. */
  latency: "latency",
} as const;

/** A kind of service-level objective. */
export type SloKind = typeof SloKind[keyof typeof SloKind];

/** A service-level objective, as `slos:` in config declares it. */
export interface Slo {
  /** The objective's name, the `slo` label of its rules: letters, digits, `_`, `.`, `-`. */
  name: string;
  /** What the objective measures. */
  kind: SloKind;
  /** The share of good requests promised, in percent, in (0, 100). */
  objective: number;
  /** For `latency`: the bound in seconds a good request stays under; one of the histogram's bucket bounds. */
  threshold?: number;
  /** The period the objective holds over, a Prometheus duration. @default {"30d"} */
  window?: string;
}

/** Options of {@linkcode generateSloRules}. */
export interface SloOptions {
  /** Where the runbook lives; the alert links to `<runbookBase>#errorbudgetburn`. @default {"https://jsr.io/@vigil/observe"} */
  runbookBase?: string;
  /**
   * The bucket bounds of `http_request_duration_seconds`, for a registry
   * that has exposed none yet (no request observed): a latency threshold
   * must be one of them. The bounds the registry exposes win.
   */
  buckets?: readonly number[];
  /**
   * The job Prometheus scrapes Vigil as: every selector keeps to it. Left
   * out, the rules read every job.
   */
  job?: string;
  /** The file name the tests load the rules from. @default {"vigil.slo.rules.yml"} */
  rulesFile?: string;
  /** The prefix of the rule group names (`<prefix>.slo.<name>`). @default {"vigil"} */
  groupPrefix?: string;
}

/** What {@linkcode generateSloRules} returns. */
export interface SloRules {
  /** A Prometheus rule file, YAML. */
  rules: string;
  /** A `promtool test rules` file for it, YAML. */
  tests: string;
}

/** The windows the error ratio is recorded over. */
export const SLO_RATE_WINDOWS: readonly string[] = Object.freeze([
  "5m",
  "30m",
  "1h",
  "2h",
  "6h",
  "1d",
  "3d",
]);

interface BurnRate {
  factor: number;
  long: string;
  short: string;
}

/** The burn-rate conditions of the SRE workbook, by severity. */
const BURN_RATES: Record<Severity, readonly BurnRate[]> = {
  critical: [
    { factor: 14.4, long: "1h", short: "5m" },
    { factor: 6, long: "6h", short: "30m" },
  ],
  warning: [
    { factor: 3, long: "1d", short: "2h" },
    { factor: 1, long: "3d", short: "6h" },
  ],
};

const HTTP = "http_requests_total";
const LATENCY = "http_request_duration_seconds";
const ALERT = "ErrorBudgetBurn";
const TEST_LABELS = 'instance="vigil:9464",method="GET",route="/"';
/** Requests per minute in the generated tests. */
const TEST_RATE = 10000;

function fail(error: typeof TypeError, message: string): never {
  throw new error(`Cannot generate SLO rules: ${message}`);
}

interface Checked {
  name: string;
  kind: SloKind;
  budget: number;
  objective: number;
  window: string;
  /** The exposed `le` value of the threshold, for latency. */
  le?: string;
}

function check(
  value: unknown,
  index: number,
  families: ReadonlySet<string>,
  bounds: ReadonlyMap<number, string>,
  seen: Set<string>,
): Checked {
  const at = `slos[${index}]`;
  if (typeof value !== "object" || value === null) {
    fail(TypeError, `${at} must be an object, got ${String(value)}`);
  }
  const slo = value as Partial<Slo>;
  const { name, kind, objective, threshold } = slo;
  if (typeof name !== "string" || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    fail(
      TypeError,
      `${at}.name must be letters, digits, "_", "." or "-", got ${
        JSON.stringify(name)
      }`,
    );
  }
  if (seen.has(name)) {
    fail(RangeError, `${at}.name must be unique, got "${name}" twice`);
  }
  seen.add(name);
  if (kind !== SloKind.availability && kind !== SloKind.latency) {
    fail(
      TypeError,
      `${at}.kind must be "availability" or "latency", got ${
        JSON.stringify(kind)
      }`,
    );
  }
  if (typeof objective !== "number") {
    fail(TypeError, `${at}.objective must be a number, got ${objective}`);
  }
  if (!(Number.isFinite(objective) && objective > 0 && objective < 100)) {
    fail(
      RangeError,
      `${at}.objective must be a percentage in (0, 100), got ${objective}`,
    );
  }
  const window = slo.window ?? "30d";
  if (
    typeof window !== "string" || durationSeconds(window, `${at}.window`) <= 0
  ) {
    fail(RangeError, `${at}.window must be a positive duration, got ${window}`);
  }
  const required = kind === SloKind.availability ? HTTP : LATENCY;
  if (!families.has(required)) {
    fail(
      RangeError,
      `${at}.kind "${kind}" needs the metric "${required}", which the registry does not hold`,
    );
  }
  const checked: Checked = {
    name,
    kind,
    objective,
    budget: clean(1 - objective / 100),
    window,
  };
  if (kind === SloKind.availability) {
    if (threshold !== undefined) {
      fail(
        TypeError,
        `${at}.threshold applies to latency objectives only, got ${threshold}`,
      );
    }
    return checked;
  }
  if (typeof threshold !== "number") {
    fail(
      TypeError,
      `${at}.threshold must be a number of seconds for a latency objective, got ${threshold}`,
    );
  }
  const le = bounds.get(threshold);
  if (le === undefined) {
    const known = [...bounds.keys()].join(", ");
    fail(
      RangeError,
      `${at}.threshold must be a bucket bound of "${LATENCY}" (${
        known === ""
          ? "none exposed yet: observe a request or pass options.buckets"
          : known
      }), got ${threshold}`,
    );
  }
  return { ...checked, le };
}

/** The error ratio of an objective over `range`, per job. */
function errorRatio(slo: Checked, range: string): string {
  if (slo.kind === SloKind.availability) {
    const total = `sum by (job) (rate(${HTTP}[${range}]))`;
    // `or` keeps a zero ratio where no 5xx series exists yet.
    return `(sum by (job) (rate(${HTTP}{status=~"5.."}[${range}])) or ${total} * 0) / ${total}`;
  }
  return `1 - sum by (job) (rate(${LATENCY}_bucket{le="${slo.le}"}[${range}])) / sum by (job) (rate(${LATENCY}_count[${range}]))`;
}

function burnExpr(slo: Checked, severity: Severity): string {
  const ratio = (w: string) =>
    `slo:sli_error:ratio_rate${w}{slo="${slo.name}"}`;
  return BURN_RATES[severity].map(({ factor, long, short }) => {
    const limit = `(${factor} * ${slo.budget})`;
    return `(${ratio(long)} > ${limit} and ${ratio(short)} > ${limit})`;
  }).join(" or ");
}

function describe(slo: Checked, severity: Severity, job: string): {
  summary: string;
  description: string;
} {
  const conditions = BURN_RATES[severity].map(({ factor, long, short }) =>
    `${factor}x over ${long} and ${short}`
  ).join(", or ");
  return {
    summary: `${job} burns the error budget of SLO ${slo.name} too fast`,
    description:
      `The ${slo.kind} objective ${slo.name} of ${job} (${slo.objective}% over ${slo.window}) spends its error budget at ${conditions}`,
  };
}

/**
 * Series of `TEST_RATE` requests a minute in phases: `[minutes, bad]` has
 * the share `bad` of them fail the objective for that many minutes.
 */
function phaseSeries(
  slo: Checked,
  phases: readonly (readonly [number, number])[],
  job: string,
): unknown[] {
  /** Promtool's expanding notation of a counter growing by `rates` a minute. */
  const counter = (rates: readonly number[]) => {
    let value = 0;
    const parts = ["0"];
    for (const [i, [minutes]] of phases.entries()) {
      const rate = rates[i]!;
      parts.push(`${clean(value + rate)}+${rate}x${minutes - 1}`);
      value = clean(value + rate * minutes);
    }
    return parts.join(" ");
  };
  const bad = phases.map(([, share]) => clean(share * TEST_RATE));
  const good = bad.map((count) => clean(TEST_RATE - count));
  const all = phases.map(() => TEST_RATE);
  const s = (name: string, labels: string, rates: readonly number[]) => ({
    series: `${name}{job=${JSON.stringify(job)},${TEST_LABELS}${labels}}`,
    values: counter(rates),
  });
  if (slo.kind === SloKind.availability) {
    return [
      s(HTTP, ',status="200"', good),
      ...(bad.some((count) => count > 0)
        ? [s(HTTP, ',status="500"', bad)]
        : []),
    ];
  }
  return [
    s(`${LATENCY}_bucket`, `,le="${slo.le}"`, good),
    s(`${LATENCY}_bucket`, ',le="+Inf"', all),
    s(`${LATENCY}_count`, "", all),
  ];
}

/** Series with the share `bad` of requests failing for `n` minutes. */
function testSeries(
  slo: Checked,
  bad: number,
  n: number,
  job: string,
): unknown[] {
  return phaseSeries(slo, [[n, bad]], job);
}

/**
 * Generates Prometheus rules for service-level objectives over the HTTP
 * metrics of a registry, as Sloth and Pyrra do: the error ratio over 5m,
 * 30m, 1h, 2h, 6h, 1d and 3d (`slo:sli_error:ratio_rate<window>`), the
 * multi-window multi-burn-rate alerts of the Google SRE workbook (page,
 * `severity: critical`: 14.4x over 1h and 5m, or 6x over 6h and 30m;
 * ticket, `severity: warning`: 3x over 1d and 2h, or 1x over 3d and 6h),
 * and the error budget remaining over the objective's window
 * (`slo:error_budget_remaining:ratio`). The `promtool test rules` cases
 * check that a fast burn pages within minutes, a slow burn only tickets
 * and a healthy service fires nothing.
 *
 * A latency threshold must be a bucket bound the registry exposes for
 * `http_request_duration_seconds`, so it needs one observed request.
 *
 * @param registry The registry holding the HTTP metrics.
 * @param slos The objectives.
 * @param options The runbook's address and the names of file and groups.
 * @returns The rule file and its tests, both YAML.
 * @throws {TypeError} When an objective has the wrong shape.
 * @throws {RangeError} When a value is out of range, a threshold is no
 * bucket bound, or the registry lacks the metric an objective reads.
 *
 * @example Availability and latency objectives
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { generateSloRules } from "@vigil/observe/alerts";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * registry.counter({ name: "http_requests_total", help: "Requests", labelNames: ["status"] });
 * registry.histogram({ name: "http_request_duration_seconds", help: "Latency", buckets: [0.1, 0.5] })
 *   .observe(0.2);
 * const { rules } = await generateSloRules(registry, [
 *   { name: "api-availability", kind: "availability", objective: 99.9 },
 *   { name: "api-latency", kind: "latency", objective: 99, threshold: 0.5 },
 * ]);
 * assert.match(rules, /record: slo:sli_error:ratio_rate3d/);
 * assert.match(rules, /severity: critical/);
 * await registry.close();
 * ```
 */
export async function generateSloRules(
  registry: Registry,
  slos: readonly Slo[],
  options: SloOptions = {},
): Promise<SloRules> {
  if (!Array.isArray(slos)) {
    fail(TypeError, `slos must be an array, got ${String(slos)}`);
  }
  const families = await registeredFamilies(registry);
  const text = await registry.metrics();
  const bounds = exposedBounds(text, LATENCY);
  if (bounds.size === 0) {
    for (const bound of options.buckets ?? []) {
      bounds.set(bound, formatBound(bound));
    }
  }
  const seen = new Set<string>();
  const checked = slos.map((slo, i) => check(slo, i, families, bounds, seen));
  const runbookBase = options.runbookBase ?? DEFAULT_RUNBOOK_BASE;
  const rulesFile = options.rulesFile ?? "vigil.slo.rules.yml";
  const prefix = options.groupPrefix ?? "vigil";
  const job = options.job ?? "vigil";
  const metrics = seriesNames([HTTP, LATENCY]);
  for (
    const w of [
      ...SLO_RATE_WINDOWS,
      ...slos.map((slo) => slo.window ?? "30d"),
    ]
  ) {
    metrics.add(`slo:sli_error:ratio_rate${w}`);
  }
  const scope = (expr: string) => scoped(expr, options.job, metrics);
  const runbook = `${runbookBase}#${ALERT.toLowerCase()}`;

  const groups = checked.map((slo) => {
    const labels = { slo: slo.name };
    const windowRatio = `slo:sli_error:ratio_rate${slo.window}`;
    const records: unknown[] = SLO_RATE_WINDOWS.map((w) => ({
      record: `slo:sli_error:ratio_rate${w}`,
      expr: scope(errorRatio(slo, w)),
      labels,
    }));
    if (!SLO_RATE_WINDOWS.includes(slo.window)) {
      // A rate over weeks of raw samples is costly; the mean of the 5m
      // ratios is what Sloth records instead.
      records.push({
        record: windowRatio,
        expr: scope(
          `avg_over_time(slo:sli_error:ratio_rate5m{slo="${slo.name}"}[${slo.window}])`,
        ),
        labels,
      });
    }
    records.push({
      record: "slo:error_budget_remaining:ratio",
      expr: scope(`1 - ${windowRatio}{slo="${slo.name}"} / ${slo.budget}`),
      labels,
    });
    const alerts = [Severity.critical, Severity.warning].map((severity) => {
      const text = describe(slo, severity, "{{ $labels.job }}");
      return {
        alert: ALERT,
        expr: scope(burnExpr(slo, severity)),
        labels: { severity, slo: slo.name },
        annotations: { ...text, runbook_url: runbook },
      };
    });
    return {
      name: `${prefix}.slo.${slo.name}`,
      rules: [...records, ...alerts],
    };
  });

  const expected = (slo: Checked, severities: Severity[]) =>
    severities.map((severity) => ({
      exp_labels: { job, slo: slo.name, severity },
      exp_annotations: {
        ...describe(slo, severity, job),
        runbook_url: runbook,
      },
    }));
  const n = 20;
  const testCases = checked.flatMap((slo) => {
    const cases: unknown[] = [];
    const burn = (
      name: string,
      factor: number,
      severities: Severity[],
      evalTime: string,
    ) => {
      const bad = clean(factor * slo.budget);
      if (bad >= 1) return; // No series can burn this fast.
      cases.push({
        name: `${slo.name}: ${name}`,
        interval: "1m",
        input_series: testSeries(slo, bad, n, job),
        alert_rule_test: [{
          eval_time: evalTime,
          alertname: ALERT,
          exp_alerts: expected(slo, severities),
        }],
      });
    };
    // Half the requests failing, or all when that is too slow to page.
    const fast = Math.max(0.5, Math.min(1, clean(15 * slo.budget)));
    if (fast > 6 * slo.budget) {
      cases.push({
        name: `${slo.name}: a fast burn pages within minutes`,
        interval: "1m",
        input_series: testSeries(slo, fast, n, job),
        alert_rule_test: [
          {
            eval_time: "5m",
            alertname: ALERT,
            exp_alerts: expected(slo, [Severity.critical, Severity.warning]),
          },
        ],
      });
    }
    if (fast > 14.4 * slo.budget) {
      // The short windows: an hour of fast burn that stopped 40 minutes
      // ago still passes 14.4x over 1h and 6x over 6h, but no longer over
      // 5m and 30m, so it pages no more and only tickets.
      cases.push({
        name: `${slo.name}: a fast burn that stopped pages no more`,
        interval: "1m",
        input_series: phaseSeries(slo, [[60, fast], [40, 0]], job),
        alert_rule_test: [
          {
            eval_time: "60m",
            alertname: ALERT,
            exp_alerts: expected(slo, [Severity.critical, Severity.warning]),
          },
          {
            eval_time: "100m",
            alertname: ALERT,
            exp_alerts: expected(slo, [Severity.warning]),
          },
        ],
      });
    }
    // The factors: after five clean hours, an hour at 20x passes 14.4x over
    // 1h while 6h stays under 6x, so it pages; an hour at 10x does not.
    for (
      const [factor, severities] of [[20, [
        Severity.critical,
        Severity.warning,
      ]], [10, [Severity.warning]]] as const
    ) {
      const share = clean(factor * slo.budget);
      if (share >= 1) continue;
      cases.push({
        name: `${slo.name}: an hour at ${factor}x after five clean hours ${
          factor === 20 ? "pages" : "tickets but does not page"
        }`,
        interval: "1m",
        input_series: phaseSeries(slo, [[300, 0], [60, share]], job),
        alert_rule_test: [{
          eval_time: "360m",
          alertname: ALERT,
          exp_alerts: expected(slo, [...severities]),
        }],
      });
    }
    burn("a slow burn at 4.5x tickets but does not page", 4.5, [
      Severity.warning,
    ], "10m");
    burn("a slow burn at 1.5x tickets but does not page", 1.5, [
      Severity.warning,
    ], "10m");
    burn("a burn at 0.5x fires nothing", 0.5, [], "10m");
    cases.push({
      name: `${slo.name}: a healthy service fires nothing and keeps its budget`,
      interval: "1m",
      input_series: testSeries(slo, 0, n, job),
      alert_rule_test: [{ eval_time: "10m", alertname: ALERT, exp_alerts: [] }],
      promql_expr_test: [{
        expr: `slo:error_budget_remaining:ratio{slo="${slo.name}"}`,
        eval_time: "10m",
        exp_samples: [{
          labels: `slo:error_budget_remaining:ratio{job=${
            JSON.stringify(job)
          },slo="${slo.name}"}`,
          value: 1,
        }],
      }],
    });
    return cases;
  });

  const yaml = { lineWidth: 0 } as const;
  return {
    rules: stringify({ groups }, yaml),
    tests: stringify({
      rule_files: [rulesFile],
      evaluation_interval: "1m",
      tests: testCases,
    }, yaml),
  };
}
