/** The text formats a registry renders. */
export const ExpositionFormat = {
  /** Prometheus text format 0.0.4. */
  Prometheus: "prometheus",
  /** OpenMetrics 1.0 text format. */
  OpenMetrics: "openmetrics",
} as const;

/** One of the values of {@linkcode ExpositionFormat}. */
export type ExpositionFormat =
  typeof ExpositionFormat[keyof typeof ExpositionFormat];

/** The `Content-Type` header of each exposition format. */
export const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = Object
  .freeze({
    prometheus: "text/plain; version=0.0.4; charset=utf-8",
    openmetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8",
  });

const OPENMETRICS_VERSIONS: ReadonlySet<string> = new Set(["1.0.0", "0.0.1"]);

/**
 * Chooses the exposition format for an HTTP `Accept` header.
 *
 * OpenMetrics is chosen when the header accepts `application/openmetrics-text`
 * (version 1.0.0, 0.0.1 or unspecified) with a quality at least as high as the
 * best other acceptable type; anything else, including a missing or malformed
 * header, gets the Prometheus text format, which every scraper reads.
 *
 * @param accept The value of the `Accept` header, or `null` when absent.
 * @returns The format to render.
 *
 * @example Negotiate with Prometheus' own header
 * ```ts
 * import { negotiateFormat } from "@vigil/observe/metrics";
 * import assert from "node:assert/strict";
 *
 * const prometheus =
 *   "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*\/*;q=0.1";
 * assert.equal(negotiateFormat(prometheus), "openmetrics");
 * assert.equal(negotiateFormat("text/plain"), "prometheus");
 * assert.equal(negotiateFormat(null), "prometheus");
 * ```
 */
export function negotiateFormat(
  accept: string | null | undefined,
): ExpositionFormat {
  if (!accept) return "prometheus";
  let openMetrics = 0;
  let other = 0;
  for (const range of accept.split(",")) {
    const [type = "", ...params] = range.split(";");
    let quality = 1;
    let version: string | undefined;
    for (const param of params) {
      const eq = param.indexOf("=");
      if (eq < 0) continue;
      const key = param.slice(0, eq).trim().toLowerCase();
      const value = param.slice(eq + 1).trim();
      if (key === "q") {
        const q = Number(value);
        quality = Number.isFinite(q) && q >= 0 && q <= 1 ? q : 0;
      } else if (key === "version") {
        version = value;
      }
    }
    const media = type.trim().toLowerCase();
    if (media === "application/openmetrics-text") {
      if (version === undefined || OPENMETRICS_VERSIONS.has(version)) {
        openMetrics = Math.max(openMetrics, quality);
      }
    } else if (media !== "") {
      other = Math.max(other, quality);
    }
  }
  return openMetrics > 0 && openMetrics >= other ? "openmetrics" : "prometheus";
}
