import { clean, durationSeconds as parseDuration } from "../base/_promql.ts";

export { clean };
// Go's `%.4g` and Prometheus's humanize template functions, so the generated
// `promtool test rules` cases can state the annotations an alert renders.

/** Formats like Go's `fmt.Sprintf("%.4g", value)`. */
export function formatG4(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value === 0) return "0";
  const [mantissa = "", exponentText = "0"] = value.toExponential(3).split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 4) {
    const digits = mantissa.replace(/\.?0+$/, "");
    const sign = exponent < 0 ? "-" : "+";
    return `${digits}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  return String(Number(value.toPrecision(4)));
}

/** Prometheus's `humanize`: SI prefixes. */
export function humanize(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return formatG4(value);
  let v = value;
  let prefix = "";
  if (Math.abs(v) >= 1) {
    for (const p of ["k", "M", "G", "T", "P", "E", "Z", "Y"]) {
      if (Math.abs(v) < 1000) break;
      prefix = p;
      v /= 1000;
    }
  } else {
    for (const p of ["m", "u", "n", "p", "f", "a", "z", "y"]) {
      if (Math.abs(v) >= 1) break;
      prefix = p;
      v *= 1000;
    }
  }
  return formatG4(v) + prefix;
}

/** Prometheus's `humanize1024`: binary prefixes. */
export function humanize1024(value: number): string {
  if (Math.abs(value) <= 1 || !Number.isFinite(value)) return formatG4(value);
  let v = value;
  let prefix = "";
  for (const p of ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"]) {
    if (Math.abs(v) < 1024) break;
    prefix = p;
    v /= 1024;
  }
  return formatG4(v) + prefix;
}

/** Prometheus's `humanizePercentage`. */
export function humanizePercentage(value: number): string {
  return `${formatG4(value * 100)}%`;
}

/** Prometheus's template functions, by name. */
export const FORMATS = {
  humanize,
  humanize1024,
  humanizePercentage,
} as const;

/** A template function's name. */
export type Format = keyof typeof FORMATS;

/** Parses a Prometheus duration (`90s`, `1h30m`) into seconds. */
export function durationSeconds(duration: string, field: string): number {
  const seconds = parseDuration(duration);
  if (seconds === undefined) {
    throw new TypeError(
      `Cannot generate alert rules: ${field} must be a Prometheus duration such as "5m", got "${duration}"`,
    );
  }
  return seconds;
}
