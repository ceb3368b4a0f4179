/**
 * Error tracking on Sentry (`npm:@sentry/deno`), alongside Deno's own
 * OpenTelemetry: events carry the `request_id` and `trace_id` of the work
 * that failed, are counted in `errors_total{type,component}`, and are
 * scrubbed with the logs' secret rule before they leave. Without a DSN
 * (`SENTRY_DSN`) every function here does nothing.
 *
 * @example Start, capture, close
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import {
 *   captureException,
 *   closeErrorTracking,
 *   initErrorTracking,
 * } from "@vigil/observe/errors";
 *
 * const registry = new Registry();
 * initErrorTracking({ registry, env: () => undefined }); // a DSN turns it on
 * captureException(new Error("payment declined"), { component: "billing" });
 * await closeErrorTracking(2000);
 * await registry.close();
 * ```
 *
 * @module
 */
export {
  addBreadcrumb,
  type CaptureContext,
  captureException,
  closeErrorTracking,
  type CounterRegistry,
  type ErrorBreadcrumb,
  type ErrorTracking,
  type ErrorTrackingOptions,
  type ErrorUser,
  initErrorTracking,
  setUser,
  type TrackableFunction,
  trackErrors,
} from "./tracking.ts";
export type { LogFields, Logger } from "../base/log.ts";
export {
  breadcrumbLogger,
  breadcrumbsFrom,
  type BreadcrumbSources,
  type DriftNotice,
  type DriftRegistry,
  type DriftSource,
} from "./breadcrumbs.ts";
export { maskText, scrubValue } from "./scrub.ts";
