/**
 * Observations from services in any language: StatsD and DogStatsD lines
 * over UDP and TCP ({@linkcode startStatsd}), and pushes to a
 * Pushgateway-compatible API ({@linkcode PushGateway}), recorded in a
 * registry and exposed on its `/metrics`. `deno task start` runs both from
 * the `ingest` section of the config; this module is for embedding them.
 *
 * @example Receive StatsD lines on a free port
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { startStatsd } from "@vigil/observe/ingest";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const statsd = await startStatsd(registry, { port: 0, tcp: false });
 * assert.ok(statsd.port > 0);
 * await statsd.close();
 * await registry.close();
 * ```
 *
 * @module
 */
export {
  startStatsd,
  type StatsdOptions,
  type StatsdServer,
} from "./statsd_server.ts";
export { PushGateway, type PushGatewayOptions } from "./push.ts";
export {
  BadTagPolicy,
  escapeMetricName,
  sanitizeLabelName,
  type StatsdLine,
  StatsdParser,
  type StatsdParserOptions,
  StatsdRejectReason,
  type StatsdSink,
  StatsdType,
} from "./statsd.ts";
export {
  type DroppedMetric,
  type InvalidMetric,
  type LabelArrays,
  MappedKind,
  type MappedMetric,
  type MappingRule,
  MatchType,
  mergeLabels,
  type MergeLabelsOptions,
  type ObserverKind,
  StatsdMapper,
  type StatsdMapperOptions,
  type StatsdMapping,
} from "./mapping.ts";
export {
  parsePushText,
  type PushFamily,
  PushLimit,
  PushMetricType,
  type PushSample,
  PushTextError,
  type PushTextOptions,
} from "./push_text.ts";
export {
  type GroupingKey,
  GroupingKeyError,
  parseGroupingPath,
} from "./grouping.ts";
