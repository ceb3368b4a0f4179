import type { LogLevel } from "../base/log.ts";
import type { AuthConfig } from "../http/auth.ts";
import type { DetectorSpec, ModelOptions } from "../drift/model_types.ts";
import type { AlertThresholds } from "../alerts/rules.ts";
import type { Slo } from "../alerts/slo.ts";
import type { MappingRule, ObserverKind } from "../ingest/mapping.ts";
import type { KitDeclaration } from "../kits/mod.ts";

export type { AuthConfig };

/** What every health check entry of the config has. */
export interface CheckConfigBase {
  /** Unique among the checks; the component name in health reports. */
  readonly name: string;
  /** A failing critical check makes the service unhealthy and not ready. */
  readonly critical: boolean;
  /** A run slower than this counts as failed. */
  readonly timeoutMs: number;
  /** Time between the start of two runs. */
  readonly intervalMs: number;
  /** The IETF health-check draft's `componentType`, e.g. "datastore". */
  readonly componentType: string;
}

/** One built-in health check, chosen by `type`. */
export type CheckConfig =
  | CheckConfigBase & {
    readonly type: "http";
    readonly url: string;
    /** Statuses that pass; default any 2xx. */
    readonly expectStatus: readonly number[];
  }
  | CheckConfigBase & {
    readonly type: "tcp";
    readonly host: string;
    readonly port: number;
  }
  | CheckConfigBase & {
    readonly type: "disk";
    readonly path: string;
    /** Free share below which the check warns. */
    readonly warnFreeRatio: number;
    /** Free share below which the check fails. */
    readonly failFreeRatio: number;
  }
  | CheckConfigBase & {
    readonly type: "memory";
    /** Resident memory above which the check warns. */
    readonly warnBytes: number;
    /** Resident memory above which the check fails. */
    readonly failBytes: number;
  }
  | CheckConfigBase & {
    readonly type: "eventLoop";
    /** p99 event-loop lag above which the check warns. */
    readonly warnMs: number;
    /** p99 event-loop lag above which the check fails. */
    readonly failMs: number;
  }
  | CheckConfigBase & { readonly type: "workers" };

/**
 * One model monitor of the config: the options of `registry.model()`, with
 * its detectors always listed (none when the file lists none).
 */
export interface DriftModelConfig extends ModelOptions {
  /** The drift detectors fed with each prediction, in this order. */
  readonly detectors: readonly DetectorSpec[];
}

/** The whole configuration, every field filled in (defaults included). */
export interface VigilConfig {
  /** Who the service is, as health bodies and logs name it. */
  readonly service: {
    readonly name: string;
    readonly version: string;
    readonly environment: string;
  };
  /** The HTTP server. */
  readonly server: {
    readonly port: number;
    readonly hostname: string;
    /** Extra paths, each serving an existing route: `{"/monitoring/metrics": "/metrics"}`. */
    readonly aliases: Readonly<Record<string, string>>;
    /** Request bodies larger than this get 413. */
    readonly maxBodyBytes: number;
    /**
     * Request bodies Vigil reads must arrive within this. `Deno.serve` has
     * no header-read timeout to configure (denoland/deno#3515).
     */
    readonly requestTimeoutMs: number;
    /** After SIGTERM, how long readiness reports 503 before the server stops. */
    readonly drainDelayMs: number;
    /** After SIGTERM, the process exits after at most this long. */
    readonly shutdownTimeoutMs: number;
    readonly auth: AuthConfig;
  };
  /** The metrics registry. */
  readonly metrics: {
    readonly defaultLabels: Readonly<Record<string, string>>;
    readonly buckets: readonly number[];
    readonly cardinalityLimit: number;
    readonly processMetrics: boolean;
    /** How often the event-loop lag is sampled; 0 turns it off. */
    readonly eventLoopIntervalMs: number;
    /** Aggregation workers; omitted means `max(1, cores - 1)`. */
    readonly workers?: number;
  };
  /** Health checks run in the background. */
  readonly health: { readonly checks: readonly CheckConfig[] };
  /** Model monitors and the drift API. */
  readonly drift: {
    /** Models created at start, fed through `POST /drift/update`. */
    readonly models: readonly DriftModelConfig[];
    /**
     * The bearer token `POST /drift/update` and `POST /drift/reset` require;
     * empty for none, and then they are open only on a loopback address.
     * A secret.
     */
    readonly writeToken: string;
  };
  /** Structured logs, on LogTape (see `configureLogging()`). */
  readonly logging: {
    /** Lines below this level are not written (`warn` reads as `warning`). */
    readonly level: LogLevel;
    /** `json`, one object a line, or `pretty` for a terminal. */
    readonly format: "json" | "pretty";
    /** Levels by dotted category, such as `{ "vigil.http": "debug" }`. */
    readonly levels: Readonly<Record<string, LogLevel>>;
    /** Daily files besides standard output; an empty directory turns them off. */
    readonly file: {
      readonly directory: string;
      readonly retentionDays: number;
    };
    /** Longest string value written; longer ones are cut with a marker. */
    readonly maxFieldLength: number;
    /** Lines a sink may have waiting; past them, lines are dropped and counted. */
    readonly queueSize: number;
    /** One line per request the server serves (probes and /metrics aside). */
    readonly accessLog: {
      readonly enabled: boolean;
      /** Share of successful (below 400) requests logged, 0 to 1; all others are. */
      readonly successSampleRate: number;
    };
  };
  /** OpenTelemetry tracing. */
  readonly tracing: {
    readonly enabled: boolean;
    /** OTLP/HTTP endpoint, e.g. http://127.0.0.1:4318. */
    readonly endpoint: string;
    /** Share of traces kept, 0 to 1. */
    readonly sampleRatio: number;
  };
  /** Error tracking with Sentry. */
  readonly errors: {
    /** Sentry DSN; empty turns error tracking off. A secret. */
    readonly sentryDsn: string;
    /** Share of errors sent, 0 to 1. */
    readonly sampleRate: number;
  };
  /** Observations sent by other services: StatsD lines and pushes. */
  readonly ingest: {
    /** StatsD and DogStatsD lines over UDP (and TCP), off unless enabled. */
    readonly statsd: {
      readonly enabled: boolean;
      /** The UDP and TCP port; the host is `server.hostname`. */
      readonly port: number;
      /** Also accept newline-delimited lines over TCP. */
      readonly tcp: boolean;
      /** How `ms`, `h` and `d` lines are recorded without a mapping. */
      readonly observer: ObserverKind;
      /** Sets count distinct members over this window. */
      readonly setWindowSeconds: number;
      /** Longer UDP packets and TCP lines are rejected and counted. */
      readonly maxPacketBytes: number;
      /** The most metric families StatsD lines may create. */
      readonly maxMetrics: number;
      /** statsd_exporter-style rules from dotted names to metrics. */
      readonly mappings: readonly MappingRule[];
    };
    /** The Pushgateway-compatible `/metrics/job/...` API. */
    readonly push: {
      readonly enabled: boolean;
      /** Groups not pushed for this long are removed; absent: never. */
      readonly ttlSeconds?: number;
      /** The most groups held. */
      readonly maxGroups: number;
      /** The most series held across groups. */
      readonly maxSeries: number;
    };
  };
  /**
   * Domain kits whose metrics the server registers at start, for each
   * component: a sidecar's StatsD lines of those names land in them, and
   * `deno task generate` writes their dashboard rows and alerts.
   */
  readonly kits: readonly KitDeclaration[];
  /**
   * The thresholds, `for` durations and runbook of the alert rules
   * `deno task generate` writes (see `generateAlertRules()`).
   */
  readonly alerts: Readonly<Required<AlertThresholds>>;
  /**
   * Service-level objectives: `deno task generate` writes their recording
   * rules, burn-rate alerts and dashboard (see `generateSloRules()`).
   */
  readonly slos: readonly Readonly<Slo>[];
}
