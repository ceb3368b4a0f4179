// What the config tests share: fixture paths, the defaults written out, and
// a helper that catches a ConfigError.
import assert from "node:assert/strict";
import { ConfigError, type VigilConfig } from "../../src/config/mod.ts";

/** The path of a file under fixtures/config/. */
export function fixture(name: string): string {
  return decodeURIComponent(
    new URL(`../../fixtures/config/${name}`, import.meta.url).pathname,
  );
}

export function readFixture(name: string): string {
  return Deno.readTextFileSync(fixture(name));
}

/** Runs `fn` and returns the ConfigError it throws. */
export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  assert.fail("expected a ConfigError");
}

/** What `defaultConfig()` returns, written out. */
export const DEFAULTS: VigilConfig = {
  service: { name: "vigil", version: "unknown", environment: "development" },
  server: {
    port: 9464,
    hostname: "127.0.0.1",
    aliases: {},
    maxBodyBytes: 1048576,
    requestTimeoutMs: 10000,
    drainDelayMs: 5000,
    shutdownTimeoutMs: 30000,
    auth: { type: "none" },
  },
  metrics: {
    defaultLabels: {},
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    cardinalityLimit: 2000,
    processMetrics: true,
    eventLoopIntervalMs: 100,
  },
  health: {
    checks: [
      {
        name: "event_loop",
        type: "eventLoop",
        warnMs: 100,
        failMs: 1000,
        critical: false,
        timeoutMs: 5000,
        intervalMs: 10000,
        componentType: "system",
      },
      {
        name: "memory",
        type: "memory",
        warnBytes: 1024 ** 3,
        failBytes: 2 * 1024 ** 3,
        critical: false,
        timeoutMs: 5000,
        intervalMs: 10000,
        componentType: "system",
      },
      {
        name: "workers",
        type: "workers",
        critical: true,
        timeoutMs: 5000,
        intervalMs: 10000,
        componentType: "component",
      },
    ],
  },
  drift: { models: [], writeToken: "" },
  logging: {
    level: "info",
    format: "json",
    levels: {},
    file: { directory: "", retentionDays: 30 },
    maxFieldLength: 8192,
    queueSize: 10000,
    accessLog: { enabled: true, successSampleRate: 1 },
  },
  tracing: {
    enabled: false,
    endpoint: "http://127.0.0.1:4318",
    sampleRatio: 1,
  },
  errors: { sentryDsn: "", sampleRate: 1 },
  ingest: {
    statsd: {
      enabled: false,
      port: 9125,
      tcp: true,
      observer: "histogram",
      setWindowSeconds: 60,
      maxPacketBytes: 65535,
      maxMetrics: 10000,
      mappings: [],
    },
    push: { enabled: true, maxGroups: 1000, maxSeries: 100000 },
  },
  kits: [],
  alerts: {
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
    runbookBase: "https://jsr.io/@vigil/observe",
  },
  slos: [],
};
