// PromQL rewriting shared by the dashboard and rule generators.

/**
 * Adds `matchers` (e.g. `job="api"`) to every selector of one of `metrics`
 * in `expr`, before the selector's own matchers (recorded series too, when
 * `metrics` names them). Functions, label names and strings are left alone.
 */
export function withMatchers(
  expr: string,
  matchers: string,
  metrics: ReadonlySet<string>,
): string {
  return expr.replace(
    /(?<![\w:"])([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?(?![\w:({])/g,
    (whole, name: string, labels: string | undefined) =>
      metrics.has(name)
        ? `${name}{${
          labels === undefined || labels === ""
            ? matchers
            : `${matchers},${labels}`
        }}`
        : whole,
  );
}

/** A family's series names: itself and a histogram's or summary's parts. */
export function seriesNames(families: Iterable<string>): Set<string> {
  const names = new Set<string>(["up"]);
  for (const family of families) {
    for (const suffix of ["", "_bucket", "_count", "_sum"]) {
      names.add(family + suffix);
    }
  }
  return names;
}

const UNIT_SECONDS: Readonly<Record<string, number>> = {
  ms: 0.001,
  s: 1,
  m: 60,
  h: 3600,
  d: 86400,
  w: 604800,
  y: 31536000,
};

/**
 * The seconds of a Prometheus duration (`90s`, `1h30m`), or `undefined`
 * when the text is not one.
 */
export function durationSeconds(text: unknown): number | undefined {
  if (typeof text !== "string" || !/^(\d+(ms|s|m|h|d|w|y))+$/.test(text)) {
    return undefined;
  }
  let seconds = 0;
  for (const [, count, unit] of text.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) {
    seconds += Number(count) * (UNIT_SECONDS[unit ?? "s"] ?? 1);
  }
  return seconds;
}

/** Rounds away binary noise (`1 - 0.999`) before a number goes into PromQL or a promtool series. */
export function clean(value: number): number {
  return Number(value.toPrecision(12));
}
