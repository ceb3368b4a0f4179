// Escaping and number formatting of the text formats. Internal.
import type { ExpositionFormat } from "./exposition.ts";

const LABEL_SPECIALS = /[\\"\n]/;

/** Escapes `\`, `"` and newline, as both formats require in label values. */
export function escapeLabelValue(value: string): string {
  if (!LABEL_SPECIALS.test(value)) return value;
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll(
    "\n",
    "\\n",
  );
}

/** Escapes HELP text: 0.0.4 escapes `\` and newline, OpenMetrics also `"`. */
export function escapeHelp(help: string, format: ExpositionFormat): string {
  const escaped = help.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
  return format === "openmetrics" ? escaped.replaceAll('"', '\\"') : escaped;
}

/**
 * Formats a sample value. OpenMetrics writes integers as `1.0`; 0.0.4 as `1`.
 * Both write `+Inf`, `-Inf` and `NaN`.
 */
export function formatValue(value: number, format: ExpositionFormat): string {
  if (Number.isFinite(value)) {
    const text = String(value);
    return format === "openmetrics" && Number.isInteger(value) &&
        !text.includes("e")
      ? text + ".0"
      : text;
  }
  return value > 0 ? "+Inf" : value < 0 ? "-Inf" : "NaN";
}

/**
 * Formats a bound for an `le` or `quantile` label in the canonical
 * OpenMetrics form, in both formats, so a series keeps one identity
 * whichever format a scraper negotiates.
 */
export function formatBound(value: number): string {
  return formatValue(value, "openmetrics");
}

/** Renders `name="value"` pairs joined by commas, without braces. */
export function renderPairs(
  names: readonly string[],
  values: readonly string[],
): string {
  let out = "";
  for (let i = 0; i < names.length; i++) {
    if (i > 0) out += ",";
    out += `${names[i]}="${escapeLabelValue(values[i]!)}"`;
  }
  return out;
}

/** Wraps label pairs in braces, or returns "" when there are none. */
export function braces(pairs: string): string {
  return pairs === "" ? "" : `{${pairs}}`;
}

/** The HELP and TYPE lines of a family. */
export function renderHeader(
  name: string,
  type: string,
  help: string,
  format: ExpositionFormat,
): string {
  return `# HELP ${name} ${escapeHelp(help, format)}\n# TYPE ${name} ${type}\n`;
}
