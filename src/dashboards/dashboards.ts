/**
 * Grafana dashboards generated from the families a registry exposes, so the
 * queries name the metrics the code defines.
 *
 * @module
 */
import type {
  Dashboard,
  MappingType,
  Panel,
  RowPanel,
  Threshold,
  ThresholdsMode,
  VariableModel,
} from "@grafana/schema";
import { kits as allKits } from "../kits/mod.ts";
import type { Kit } from "../kits/spec.ts";
import { seriesNames, withMatchers } from "../base/_promql.ts";

/** The dashboard schema version Grafana 12 and 13 write. */
export const SCHEMA_VERSION = 42;

/** Anything with Prometheus text from `metrics()`, such as a `Registry`. */
export interface MetricsSource {
  /** The exposition text, with `# HELP` and `# TYPE` lines. */
  metrics(): Promise<string>;
}

/** Options of {@linkcode generateDashboards}. */
export interface DashboardOptions {
  /**
   * The service's name: in titles, tags and uids.
   * @default {"vigil"}
   */
  readonly service?: string;
  /**
   * The uid of the Prometheus data source selected by default; Grafana's
   * default Prometheus data source when left out.
   */
  readonly datasourceUid?: string;
  /**
   * Service-level objectives whose rules `generateSloRules()` writes: with
   * any, an "SLOs" dashboard shows each one's error budget left, burn rate
   * and error ratio from those recording rules.
   * @default {[]}
   */
  readonly slos?: readonly DashboardSlo[];
  /**
   * The domain kits whose rows a "Components" dashboard shows, each when
   * its metrics are registered (see `@vigil/observe/kits`).
   * @default {every kit}
   */
  readonly kits?: readonly Kit[];
}

/**
 * A service-level objective as the SLO dashboard shows it; the `Slo` of
 * `@vigil/observe/alerts` is one.
 */
export interface DashboardSlo {
  /** The `slo` label of its recording rules. */
  readonly name: string;
  /** `availability` or `latency`. */
  readonly kind: string;
  /** The share of good requests promised, in percent. */
  readonly objective: number;
  /** The period the objective holds over. @default {"30d"} */
  readonly window?: string;
}

/** A metric family read from `# TYPE` and `# HELP` lines. */
export interface MetricFamily {
  /** The name on its `# TYPE` line. */
  readonly name: string;
  /** `counter`, `gauge`, `histogram`, `summary` or `untyped`. */
  readonly type: string;
  /** The help text, empty when there is none. */
  readonly help: string;
}

/**
 * Reads the families of Prometheus text from its `# TYPE` and `# HELP` lines.
 *
 * @param text Prometheus text 0.0.4.
 * @returns The families by name, in the order of their `# TYPE` lines.
 * @example Reading families
 * ```ts
 * import { parseFamilies } from "./dashboards.ts";
 * import assert from "node:assert/strict";
 *
 * const families = parseFamilies("# HELP a_total A\n# TYPE a_total counter\na_total 1\n");
 * assert.deepEqual(families.get("a_total"), { name: "a_total", type: "counter", help: "A" });
 * ```
 */
export function parseFamilies(text: string): Map<string, MetricFamily> {
  const helps = new Map<string, string>();
  const families = new Map<string, MetricFamily>();
  for (const line of text.split("\n")) {
    const help = /^# HELP (\S+) ?(.*)$/.exec(line);
    if (help !== null) {
      helps.set(help[1]!, unescapeHelp(help[2]!));
      continue;
    }
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type !== null) {
      families.set(type[1]!, {
        name: type[1]!,
        type: type[2]!,
        help: helps.get(type[1]!) ?? "",
      });
    }
  }
  return families;
}

function unescapeHelp(help: string): string {
  return help.replace(/\\(n|\\)/g, (_, c: string) => c === "n" ? "\n" : "\\");
}

// The datasource variable every panel and query variable points at.
const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;
// Every query keeps to the selected jobs and instances.
const SEL = 'job=~"$job",instance=~"$instance"';
const RATE = "$__rate_interval";

// Grafana's string enums take no string literal; these are their values.
const ABSOLUTE = "absolute" as ThresholdsMode.Absolute;
const VALUE_TO_TEXT = "value" as MappingType.ValueToText;

type PanelType = "timeseries" | "stat" | "heatmap" | "gauge";

interface Query {
  readonly expr: string;
  readonly legend?: string;
}

interface PanelSpec {
  readonly title: string;
  readonly type: PanelType;
  readonly queries: readonly Query[];
  readonly unit: string;
  readonly description?: string;
  /** Steps above the green base: `[value, color]`. */
  readonly thresholds?: readonly (readonly [number, string])[];
  /** Colours from red at the base, for figures where low is bad. */
  readonly lowIsBad?: readonly (readonly [number, string])[];
  readonly min?: number;
  readonly max?: number;
  readonly width?: number;
  readonly mappings?: Readonly<Record<string, readonly [string, string]>>;
}

interface RowSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

interface DashboardSpec {
  readonly name: string;
  readonly tags: readonly string[];
  readonly rows: readonly RowSpec[];
}

/** A selector of `name` with the dashboard filters and `extra` matchers. */
function sel(name: string, extra = ""): string {
  return `${name}{${SEL}${extra === "" ? "" : `,${extra}`}}`;
}

function rate(name: string, by?: string, extra = ""): string {
  const inner = `rate(${sel(name, extra)}[${RATE}])`;
  return by === undefined ? `sum(${inner})` : `sum by (${by}) (${inner})`;
}

function quantiles(histogram: string, by?: string): Query[] {
  const group = by === undefined ? "le" : `le, ${by}`;
  const prefix = by === undefined ? "" : by.split(", ").map((l) => `{{${l}}} `)
    .join("");
  return [0.5, 0.95, 0.99].map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${group}) (rate(${
      sel(`${histogram}_bucket`)
    }[${RATE}])))`,
    legend: `${prefix}p${q * 100}`,
  }));
}

function heatmap(histogram: string, title: string, unit: string): PanelSpec {
  return {
    title,
    type: "heatmap",
    unit,
    queries: [{
      expr: `sum by (le) (rate(${sel(`${histogram}_bucket`)}[${RATE}]))`,
      legend: "{{le}}",
    }],
  };
}

/** Short FNV-1a hash, hex: stable across runs and platforms. */
function hash(text: string): string {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

function slug(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/**
 * The uid of a dashboard: a slug of its name and a hash of the service and
 * name, at most 40 characters (Grafana's limit).
 *
 * @param service The service's name.
 * @param name The dashboard's name.
 * @returns The uid.
 */
export function dashboardUid(service: string, name: string): string {
  const prefix = slug(`${service}-${name}`).slice(0, 31).replace(/-$/, "");
  return `${prefix}-${hash(`${service}\u0000${name}`)}`;
}

/** A title from help text: its first clause, short. */
function titleOf(family: MetricFamily): string {
  const first = family.help.split(/[,;:(]|\. /)[0]!.trim();
  if (first === "") return family.name;
  return first.length > 60 ? `${first.slice(0, 57)}...` : first;
}

/** Grafana's unit for a metric, from Prometheus naming conventions. */
function unitOf(name: string): string {
  const base = name.replace(/_total$/, "");
  if (base.endsWith("_seconds")) return "s";
  if (base.endsWith("_bytes")) return "bytes";
  if (base.endsWith("_ratio")) return "percentunit";
  return "short";
}

function thresholds(
  spec: PanelSpec,
): { mode: ThresholdsMode; steps: Threshold[] } {
  if (spec.lowIsBad !== undefined) {
    return {
      mode: ABSOLUTE,
      steps: [
        { color: "red", value: null },
        ...spec.lowIsBad.map(([value, color]) => ({ color, value })),
      ],
    };
  }
  return {
    mode: ABSOLUTE,
    steps: [
      { color: "green", value: null },
      ...(spec.thresholds ?? []).map(([value, color]) => ({ color, value })),
    ],
  };
}

function panelOf(
  spec: PanelSpec,
  id: number,
  gridPos: { x: number; y: number; w: number; h: number },
): Panel {
  const options: Record<string, unknown> = spec.type === "heatmap"
    ? {
      calculate: false,
      yAxis: { unit: spec.unit },
      color: { mode: "scheme", scheme: "Oranges" },
      cellValues: { unit: "short" },
    }
    : spec.type === "stat"
    ? {
      reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
      colorMode: "value",
      graphMode: "none",
      textMode: "auto",
    }
    : spec.type === "gauge"
    ? {
      reduceOptions: { calcs: ["lastNotNull"], fields: "", values: false },
      showThresholdLabels: false,
      showThresholdMarkers: true,
    }
    : {
      legend: { displayMode: "list", placement: "bottom", showLegend: true },
    };
  const mappings = spec.mappings === undefined ? [] : [{
    type: VALUE_TO_TEXT,
    options: Object.fromEntries(
      Object.entries(spec.mappings).map(([value, [text, color]]) => [
        value,
        { text, color },
      ]),
    ),
  }];
  return {
    id,
    type: spec.type,
    title: spec.title,
    ...(spec.description === undefined
      ? {}
      : { description: spec.description }),
    datasource: DATASOURCE,
    gridPos,
    fieldConfig: {
      defaults: {
        unit: spec.unit,
        thresholds: thresholds(spec),
        mappings,
        ...(spec.min === undefined ? {} : { min: spec.min }),
        ...(spec.max === undefined ? {} : { max: spec.max }),
        ...(spec.type === "timeseries"
          ? {
            custom: {
              drawStyle: "line",
              fillOpacity: 10,
              showPoints: "never",
              // Grafana draws a time series' thresholds only when asked.
              ...((spec.thresholds ?? spec.lowIsBad ?? []).length > 0
                ? { thresholdsStyle: { mode: "line" } }
                : {}),
            },
          }
          : {}),
      },
      overrides: [],
    },
    options,
    targets: spec.queries.map((query, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource: DATASOURCE,
      expr: query.expr,
      legendFormat: query.legend ?? "__auto",
      range: true,
      ...(spec.type === "heatmap" ? { format: "heatmap" } : {}),
    })),
  };
}

function variables(datasourceUid: string | undefined): VariableModel[] {
  const all = { selected: true, text: "All", value: "$__all" };
  const query = (name: string, expr: string): VariableModel => ({
    name,
    label: name,
    type: "query",
    datasource: DATASOURCE,
    query: expr,
    refresh: 2,
    includeAll: true,
    multi: true,
    allValue: ".*",
    current: all,
    sort: 1,
    hide: 0,
  });
  return [
    {
      name: "datasource",
      label: "Data source",
      type: "datasource",
      query: "prometheus",
      hide: 0,
      ...(datasourceUid === undefined ? {} : {
        current: { selected: true, text: datasourceUid, value: datasourceUid },
      }),
    },
    query("job", "label_values(up, job)"),
    query("instance", 'label_values(up{job=~"$job"}, instance)'),
  ];
}

function build(spec: DashboardSpec, options: DashboardOptions): Dashboard {
  const service = options.service ?? "vigil";
  const panels: (Panel | RowPanel)[] = [];
  let id = 1;
  let y = 0;
  for (const row of spec.rows) {
    if (row.panels.length === 0) continue;
    panels.push({
      type: "row",
      id: id++,
      title: row.title,
      collapsed: false,
      panels: [],
      gridPos: { x: 0, y: y++, w: 24, h: 1 },
    });
    let x = 0;
    for (const panel of row.panels) {
      const w = panel.width ?? (panel.type === "stat" ? 6 : 12);
      if (x + w > 24) {
        x = 0;
        y += 8;
      }
      panels.push(panelOf(panel, id++, { x, y, w, h: 8 }));
      x += w;
    }
    y += 8;
  }
  return {
    uid: dashboardUid(service, spec.name),
    title: `${service} / ${spec.name}`,
    tags: ["vigil", service, ...spec.tags],
    schemaVersion: SCHEMA_VERSION,
    editable: true,
    graphTooltip: 1,
    refresh: "30s",
    time: { from: "now-1h", to: "now" },
    timezone: "browser",
    templating: { list: variables(options.datasourceUid) },
    annotations: { list: [] },
    panels,
  };
}

/** Families claimed by a preset, so the automatic dashboard skips them. */
type Has = (name: string) => boolean;

function serviceOverview(has: Has): DashboardSpec {
  const traffic: PanelSpec[] = [];
  if (has("http_requests_total")) {
    traffic.push({
      title: "Request rate by route",
      type: "timeseries",
      unit: "reqps",
      queries: [{
        expr: rate("http_requests_total", "route"),
        legend: "{{route}}",
      }],
    }, {
      title: "Error ratio (5xx)",
      type: "timeseries",
      unit: "percentunit",
      min: 0,
      thresholds: [[0.01, "yellow"], [0.05, "red"]],
      queries: [{
        // `or` shows 0 % rather than no data while no 5xx series exists.
        expr: `(${rate("http_requests_total", undefined, 'status=~"5.."')} or ${
          rate("http_requests_total")
        } * 0) / ${rate("http_requests_total")}`,
        legend: "5xx share",
      }],
    });
  }
  if (has("http_request_errors_total")) {
    traffic.push({
      title: "Handler errors by type",
      type: "timeseries",
      unit: "ops",
      queries: [{
        expr: rate("http_request_errors_total", "error"),
        legend: "{{error}}",
      }],
    });
  }
  if (has("http_requests_in_progress")) {
    traffic.push({
      title: "Requests in flight",
      type: "timeseries",
      unit: "short",
      queries: [{
        expr: `sum(${sel("http_requests_in_progress")})`,
        legend: "in flight",
      }],
    });
  }
  const latency: PanelSpec[] = has("http_request_duration_seconds")
    ? [{
      title: "Latency p50 / p95 / p99",
      type: "timeseries",
      unit: "s",
      thresholds: [[0.5, "yellow"], [1, "red"]],
      queries: quantiles("http_request_duration_seconds"),
    }, heatmap("http_request_duration_seconds", "Latency distribution", "s")]
    : [];
  const health: PanelSpec[] = [];
  if (has("vigil_health_status")) {
    health.push({
      title: "Service health",
      type: "stat",
      unit: "short",
      queries: [{
        expr: `max by (status) (${sel("vigil_health_status")}) == 1`,
        legend: "{{status}}",
      }],
    });
  }
  if (has("vigil_health_ready")) {
    health.push({
      title: "Ready",
      type: "stat",
      unit: "short",
      lowIsBad: [[1, "green"]],
      mappings: { "0": ["not ready", "red"], "1": ["ready", "green"] },
      queries: [{ expr: `min(${sel("vigil_health_ready")})`, legend: "ready" }],
    });
  }
  if (has("vigil_health_check_status")) {
    health.push({
      title: "Health status per component",
      type: "stat",
      unit: "short",
      width: 12,
      thresholds: [[1, "blue"], [2, "orange"], [3, "red"]],
      mappings: {
        "0": ["pass", "green"],
        "1": ["pending", "blue"],
        "2": ["warn", "orange"],
        "3": ["fail", "red"],
      },
      // Each check's status as a number, the worst of its instances.
      queries: [{
        expr: `max by (check) (${
          sel("vigil_health_check_status", 'status="pending"')
        } + ignoring (status) 2 * ${
          sel("vigil_health_check_status", 'status="warn"')
        } + ignoring (status) 3 * ${
          sel("vigil_health_check_status", 'status="fail"')
        })`,
        legend: "{{check}}",
      }],
    });
  }
  if (has("vigil_health_check_duration_seconds")) {
    health.push({
      title: "Health check duration",
      type: "timeseries",
      unit: "s",
      queries: [{
        expr: `max by (check) (${sel("vigil_health_check_duration_seconds")})`,
        legend: "{{check}}",
      }],
    });
  }
  if (has("process_uptime_seconds")) {
    health.push({
      title: "Uptime",
      type: "stat",
      unit: "s",
      queries: [{
        expr: sel("process_uptime_seconds"),
        legend: "{{instance}}",
      }],
    });
  } else if (has("process_start_time_seconds")) {
    health.push({
      title: "Uptime",
      type: "stat",
      unit: "s",
      queries: [{
        expr: `time() - ${sel("process_start_time_seconds")}`,
        legend: "{{instance}}",
      }],
    });
  }
  return {
    name: "Service overview",
    tags: ["http"],
    rows: [
      { title: "Traffic", panels: traffic },
      { title: "Latency", panels: latency },
      { title: "Health", panels: health },
    ],
  };
}

function modelPerformance(has: Has): DashboardSpec {
  const quality: PanelSpec[] = [
    ["ml_model_accuracy", "Accuracy"],
    ["ml_model_f1_score", "F1 score"],
    ["ml_model_precision", "Precision"],
    ["ml_model_recall", "Recall"],
  ].filter(([name]) => has(name!)).map(([name, title]) => ({
    title: `${title} per window`,
    type: "timeseries",
    unit: "percentunit",
    min: 0,
    max: 1,
    lowIsBad: [[0.7, "yellow"], [0.8, "green"]],
    queries: [{ expr: sel(name!), legend: "{{model_name}} {{window}}" }],
  }));
  const predictions: PanelSpec[] = [];
  if (has("ml_predictions_total")) {
    predictions.push({
      title: "Predictions per minute by class",
      type: "timeseries",
      unit: "opm",
      queries: [{
        expr: `${
          rate("ml_predictions_total", "model_name, predicted_class")
        } * 60`,
        legend: "{{model_name}} {{predicted_class}}",
      }],
    });
  }
  if (has("vigil_model_predictions_refused_total")) {
    predictions.push({
      title: "Predictions refused by reason",
      type: "timeseries",
      unit: "ops",
      thresholds: [[0.001, "red"]],
      queries: [{
        expr: rate(
          "vigil_model_predictions_refused_total",
          "model_name, reason",
        ),
        legend: "{{model_name}} {{reason}}",
      }],
    });
  }
  if (has("ml_prediction_confidence")) {
    predictions.push(
      heatmap(
        "ml_prediction_confidence",
        "Prediction confidence",
        "percentunit",
      ),
    );
  }
  if (has("ml_prediction_duration_seconds")) {
    predictions.push({
      title: "Prediction latency p50 / p95 / p99",
      description: "What model.timed() measured, per model",
      type: "timeseries",
      unit: "s",
      queries: quantiles("ml_prediction_duration_seconds", "model_name"),
    });
  }
  const training: PanelSpec[] = [];
  if (has("ml_training_runs_total")) {
    training.push({
      title: "Training runs",
      type: "stat",
      unit: "short",
      queries: [{
        expr: `sum by (model_name, status) (increase(${
          sel("ml_training_runs_total")
        }[$__range]))`,
        legend: "{{model_name}} {{status}}",
      }],
    });
  }
  if (has("ml_last_training_timestamp_seconds")) {
    training.push({
      title: "Last training age",
      type: "stat",
      unit: "s",
      thresholds: [[43200, "yellow"], [86400, "red"]],
      queries: [{
        expr: `time() - max by (model_name) (${
          sel("ml_last_training_timestamp_seconds")
        })`,
        legend: "{{model_name}}",
      }],
    });
  }
  if (has("ml_training_duration_seconds")) {
    training.push({
      title: "Training duration",
      type: "timeseries",
      unit: "s",
      queries: quantiles("ml_training_duration_seconds"),
    });
  }
  if (has("ml_training_samples")) {
    training.push({
      title: "Samples of the last training run",
      type: "stat",
      unit: "short",
      queries: [{ expr: sel("ml_training_samples"), legend: "{{model_name}}" }],
    });
  }
  return {
    name: "Model performance",
    tags: ["ml"],
    rows: [
      { title: "Quality", panels: quality },
      { title: "Predictions", panels: predictions },
      { title: "Training", panels: training },
    ],
  };
}

function drift(has: Has): DashboardSpec {
  const panels: PanelSpec[] = [];
  if (has("ml_drift_detected_total")) {
    panels.push({
      title: "Drift and warning events",
      type: "timeseries",
      unit: "short",
      queries: [{
        expr: `sum by (model_name, detector_type, severity) (increase(${
          sel("ml_drift_detected_total")
        }[${RATE}]))`,
        legend: "{{model_name}} {{detector_type}} {{severity}}",
      }],
    });
  }
  if (has("ml_drift_state")) {
    panels.push({
      title: "State per detector",
      type: "timeseries",
      unit: "short",
      min: 0,
      max: 2,
      thresholds: [[1, "yellow"], [2, "red"]],
      mappings: {
        "0": ["stable", "green"],
        "1": ["warning", "yellow"],
        "2": ["drift", "red"],
      },
      queries: [{
        expr: sel("ml_drift_state"),
        legend: "{{model_name}} {{detector_type}}",
      }],
    });
  }
  if (has("ml_drift_score")) {
    panels.push({
      title: "Drift score",
      type: "timeseries",
      unit: "short",
      queries: [{
        expr: sel("ml_drift_score"),
        legend: "{{model_name}} {{detector_type}}",
      }],
    });
  }
  if (has("vigil_drift_subscriber_errors_total")) {
    panels.push({
      title: "onDrift subscriber errors",
      type: "timeseries",
      unit: "ops",
      thresholds: [[0.001, "red"]],
      queries: [{
        expr: rate("vigil_drift_subscriber_errors_total", "model_name"),
        legend: "{{model_name}}",
      }],
    });
  }
  return {
    name: "Drift",
    tags: ["ml", "drift"],
    rows: [{ title: "Drift", panels }],
  };
}

function counterPanel(name: string, title: string, by?: string): PanelSpec {
  return {
    title,
    type: "timeseries",
    unit: "ops",
    thresholds: [[0.001, "red"]],
    queries: [{
      expr: rate(name, by),
      legend: by === undefined ? title : by.split(", ").map((l) => `{{${l}}}`)
        .join(" "),
    }],
  };
}

function runtime(has: Has): DashboardSpec {
  const resources: PanelSpec[] = [];
  if (has("process_cpu_seconds_total")) {
    resources.push({
      title: "CPU",
      type: "timeseries",
      unit: "percentunit",
      min: 0,
      thresholds: [[0.8, "yellow"], [1, "red"]],
      queries: [{
        expr: `rate(${sel("process_cpu_seconds_total")}[${RATE}])`,
        legend: "{{instance}}",
      }],
    });
  }
  const memory: Query[] = [
    ["process_resident_memory_bytes", "resident"],
    ["process_heap_bytes", "V8 heap"],
    ["deno_heap_used_bytes", "heap used"],
    ["deno_external_memory_bytes", "external"],
  ].filter(([name]) => has(name!)).map(([name, legend]) => ({
    expr: sel(name!),
    legend: `{{instance}} ${legend}`,
  }));
  if (memory.length > 0) {
    resources.push({
      title: "Memory",
      type: "timeseries",
      unit: "bytes",
      queries: memory,
    });
  }
  if (has("process_start_time_seconds")) {
    resources.push({
      title: "Process restarts",
      type: "stat",
      unit: "short",
      thresholds: [[1, "red"]],
      queries: [{
        expr: `changes(${sel("process_start_time_seconds")}[$__range])`,
        legend: "{{instance}}",
      }],
    });
  }
  if (has("process_open_fds")) {
    resources.push({
      title: "Open file descriptors",
      type: "timeseries",
      unit: "short",
      queries: [{ expr: sel("process_open_fds"), legend: "{{instance}}" }],
    });
  }
  const loop: PanelSpec[] = [];
  if (has("deno_event_loop_lag_seconds")) {
    loop.push({
      title: "Event-loop lag p99",
      type: "timeseries",
      unit: "s",
      thresholds: [[0.1, "yellow"], [0.5, "red"]],
      queries: quantiles("deno_event_loop_lag_seconds").slice(2),
    });
  }
  if (has("deno_gc_duration_seconds")) {
    loop.push({
      title: "GC pauses p99 by kind",
      type: "timeseries",
      unit: "s",
      queries: quantiles("deno_gc_duration_seconds", "kind").slice(2),
    });
  }
  const internals: PanelSpec[] = [
    ["vigil_worker_restarts_total", "Worker restarts", undefined],
    ["vigil_observations_dropped_total", "Dropped observations", undefined],
    [
      "vigil_cardinality_overflow_total",
      "Cardinality overflows",
      "metric, reason",
    ],
    ["vigil_log_lines_dropped_total", "Log lines dropped", "sink"],
    ["vigil_log_sink_errors_total", "Log sink errors", "sink"],
    ["vigil_collect_errors_total", "Collect callback errors", undefined],
    ["vigil_values_refused_total", "Values refused", undefined],
    ["vigil_ingest_lines_total", "Ingested lines", "protocol"],
    [
      "vigil_ingest_lines_rejected_total",
      "Ingested lines rejected",
      "protocol, reason",
    ],
  ].filter(([name]) => has(name!)).map(([name, title, by]) =>
    counterPanel(name!, title!, by)
  );
  if (has("vigil_build_info")) {
    internals.push({
      title: "Build",
      type: "stat",
      unit: "short",
      queries: [{
        expr: `max by (version, deno) (${sel("vigil_build_info")})`,
        legend: "vigil {{version}}, deno {{deno}}",
      }],
    });
  }
  return {
    name: "Runtime",
    tags: ["runtime"],
    rows: [
      { title: "Resources", panels: resources },
      { title: "Event loop", panels: loop },
      { title: "Vigil internals", panels: internals },
    ],
  };
}

function automatic(family: MetricFamily): PanelSpec[] {
  const title = titleOf(family);
  const description = `${family.name}: ${family.help}`;
  const { name } = family;
  switch (family.type) {
    case "counter":
      return [{
        title,
        description,
        type: "timeseries",
        unit: name.endsWith("_seconds_total")
          ? "s"
          : name.endsWith("_bytes_total")
          ? "Bps"
          : "ops",
        queries: [{ expr: `sum(rate(${sel(name)}[${RATE}]))`, legend: "rate" }],
      }];
    case "histogram":
      return [
        {
          title,
          description,
          type: "timeseries",
          unit: unitOf(name),
          queries: quantiles(name),
        },
        {
          ...heatmap(name, `${title} (distribution)`, unitOf(name)),
          description,
        },
      ];
    case "summary":
      return [{
        title,
        description,
        type: "timeseries",
        unit: unitOf(name),
        queries: [{ expr: sel(name), legend: "{{quantile}}" }],
      }];
    default:
      return [{
        title,
        description,
        type: "timeseries",
        unit: unitOf(name),
        queries: [{ expr: sel(name) }],
      }];
  }
}

/** A row per kit, its queries kept to the selected jobs and instances. */
function components(used: readonly Kit[]): DashboardSpec {
  return {
    name: "Components",
    tags: ["kits"],
    rows: used.map((kit) => {
      const names = seriesNames(kit.families);
      return {
        title: kit.title,
        panels: kit.panels.map((panel) => ({
          ...panel,
          queries: panel.queries.map((query) => ({
            ...query,
            expr: withMatchers(query.expr, SEL, names),
          })),
        })),
      };
    }),
  };
}

/** Selects a recorded SLO series: these carry `job` and `slo`, no `instance`. */
function sloSel(record: string, slo: string): string {
  return `${record}{job=~"$job",slo=${JSON.stringify(slo)}}`;
}

function slos(specs: readonly DashboardSlo[]): DashboardSpec {
  return {
    name: "SLOs",
    tags: ["slo"],
    rows: specs.map((slo) => {
      const window = slo.window ?? "30d";
      const budget = Number((1 - slo.objective / 100).toPrecision(12));
      const ratio = (w: string) =>
        sloSel(`slo:sli_error:ratio_rate${w}`, slo.name);
      return {
        title: `${slo.name}: ${slo.objective}% ${slo.kind} over ${window}`,
        panels: [{
          title: "Error budget remaining",
          description:
            `The share of the error budget (${budget} of requests over ${window}) not yet spent; below 0 the objective is missed.`,
          type: "gauge",
          unit: "percentunit",
          min: 0,
          max: 1,
          lowIsBad: [[0.25, "orange"], [0.5, "green"]],
          queries: [{
            expr: sloSel("slo:error_budget_remaining:ratio", slo.name),
            legend: "{{job}}",
          }],
        }, {
          title: `Good requests over ${window}`,
          type: "stat",
          unit: "percentunit",
          lowIsBad: [[slo.objective / 100, "green"]],
          queries: [{ expr: `1 - ${ratio(window)}`, legend: "{{job}}" }],
        }, {
          title: "Burn rate",
          description:
            "How many times faster than the objective allows the budget is spent: 14.4 over 1h or 6 over 6h pages, 3 over 1d or 1 over 3d tickets.",
          type: "timeseries",
          unit: "short",
          min: 0,
          width: 12,
          thresholds: [[1, "yellow"], [6, "orange"], [14.4, "red"]],
          queries: ["1h", "6h", "1d", "3d"].map((w) => ({
            expr: `${ratio(w)} / ${budget}`,
            legend: `{{job}} ${w}`,
          })),
        }, {
          title: "Error ratio",
          type: "timeseries",
          unit: "percentunit",
          min: 0,
          width: 24,
          thresholds: [[budget, "red"]],
          queries: ["5m", "1h", "6h"].map((w) => ({
            expr: ratio(w),
            legend: `{{job}} ${w}`,
          })),
        }],
      };
    }),
  };
}

/** Which families each preset shows. */
function claimedBy(spec: DashboardSpec): Set<string> {
  const names = new Set<string>();
  for (const row of spec.rows) {
    for (const panel of row.panels) {
      for (const query of panel.queries) {
        for (const [, name] of query.expr.matchAll(/([a-zA-Z_:][\w:]*)\{/g)) {
          names.add(name!.replace(/_bucket$/, ""));
        }
      }
    }
  }
  return names;
}

/**
 * Generates Grafana dashboards for the metrics a registry exposes: Service
 * overview, Model performance, Drift and Runtime, each when its metrics are
 * registered, and one with a panel per other metric, by type. Every query
 * keeps to the `$job` and `$instance` variables; panels use the
 * `$datasource` variable.
 *
 * @param registry Where the metrics are read from (its `metrics()` text).
 * @param options The service's name and the default data source.
 * @returns Dashboards for Grafana's import (schema version 42).
 * @example Generating dashboards
 * ```ts
 * import { generateDashboards } from "./dashboards.ts";
 * import { Registry } from "../metrics/registry.ts";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * registry.counter({ name: "orders_shipped_total", help: "Orders shipped" });
 * const dashboards = await generateDashboards(registry, { service: "api" });
 * const custom = dashboards.find((d) => d.title === "api / Metrics");
 * assert.equal(custom!.schemaVersion, 42);
 * assert.equal(custom!.panels!.length, 2); // its row and its panel
 * await registry.close();
 * ```
 */
export async function generateDashboards(
  registry: MetricsSource,
  options: DashboardOptions = {},
): Promise<DashboardJson[]> {
  const families = parseFamilies(await registry.metrics());
  const has: Has = (name) => families.has(name);
  const presets = [
    serviceOverview(has),
    modelPerformance(has),
    drift(has),
    runtime(has),
  ].filter((spec) => spec.rows.some((row) => row.panels.length > 0));
  const used = (options.kits ?? allKits()).filter((kit) => has(kit.marker));
  if (used.length > 0) presets.push(components(used));
  if ((options.slos ?? []).length > 0) presets.push(slos(options.slos ?? []));
  const claimed = new Set(presets.flatMap((spec) => [...claimedBy(spec)]));
  const rest = [...families.values()].filter((f) => !claimed.has(f.name));
  if (rest.length > 0) {
    presets.push({
      name: "Metrics",
      tags: ["generated"],
      rows: rest.map((family) => ({
        title: family.name,
        panels: automatic(family),
      })),
    });
  }
  // Built as Grafana's Dashboard type (an unknown field fails `deno check`),
  // handed out as JSON: Grafana's types are not part of Vigil's API.
  return presets.map((spec) =>
    build(spec, options) as unknown as DashboardJson
  );
}

/**
 * A dashboard as Grafana imports it: the JSON of Grafana's `Dashboard`
 * model (`@grafana/schema` 13, schema version 42). Write it to a file with
 * `JSON.stringify`, or post it to Grafana's `/api/dashboards/db`.
 */
export interface DashboardJson {
  /** Stable: derived from the service and the dashboard's name. */
  readonly uid: string;
  /** `<service> / <name>`. */
  readonly title: string;
  /** 42. */
  readonly schemaVersion: number;
  /** Rows and panels, as Grafana's model has them. */
  readonly panels?: readonly Readonly<Record<string, unknown>>[];
  /** The rest of Grafana's model: templating, time, tags and so on. */
  readonly [field: string]: unknown;
}
