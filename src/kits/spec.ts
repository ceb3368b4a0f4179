// What a kit tells the dashboard and alert generators: its rows, recording
// rules and alerts, with the promtool cases of each alert. Data only, so the
// generators (a layer above) read it without knowing any kit.

/** One query of a kit's panel; selectors name bare metrics (`x_total[5m]`). */
export interface KitQuery {
  /** PromQL; the generator adds its `job` and `instance` filters. */
  readonly expr: string;
  /** The series' legend, e.g. `{{cache}}`. */
  readonly legend?: string;
}

/** A panel of a kit's dashboard row. */
export interface KitPanel {
  /** The panel's title. */
  readonly title: string;
  /** How it is drawn. */
  readonly type: "timeseries" | "stat" | "gauge";
  /** Grafana's unit: `s`, `bytes`, `percentunit`, `ops`, `short`... */
  readonly unit: string;
  /** What it shows. */
  readonly queries: readonly KitQuery[];
  /** Steps above a green base: `[value, colour]`. */
  readonly thresholds?: readonly (readonly [number, string])[];
  /** Steps above a red base, for figures where low is bad. */
  readonly lowIsBad?: readonly (readonly [number, string])[];
  /** The axis or gauge minimum. */
  readonly min?: number;
  /** The axis or gauge maximum. */
  readonly max?: number;
  /** Value to text and colour: `{ "1": ["open", "red"] }`. */
  readonly mappings?: Readonly<Record<string, readonly [string, string]>>;
}

/** A recording rule of a kit. */
export interface KitRecording {
  /** The recorded series' name, `level:metric:operations`. */
  readonly record: string;
  /** PromQL; the generator scopes its selectors to the scrape job. */
  readonly expr: string;
}

/** A series of a promtool test, without `job` and `instance`. */
export interface KitSeries {
  /** The series' name. */
  readonly name: string;
  /** Its labels, as PromQL writes them: `cache="redis"`. */
  readonly labels: string;
  /** promtool's expanding notation: `0+60x20`. */
  readonly values: string;
}

/** Prometheus's template functions a kit alert formats its value with. */
export type KitFormat = "humanize" | "humanize1024" | "humanizePercentage";

/** An alert of a kit, with the synthetic series its promtool cases use. */
export interface KitAlert {
  /** The alert's name, e.g. `LowCacheHitRate`. */
  readonly name: string;
  /** PromQL; the generator scopes its selectors to the scrape job. */
  readonly expr: string;
  /** How long the condition holds before the alert fires. */
  readonly for: string;
  /** `critical` pages, `warning` tickets. */
  readonly severity: "critical" | "warning";
  /** How `{{ $value }}` is written in the description. */
  readonly format: KitFormat;
  /** The summary, from a label reader (`{{ $labels.x }}` in the rule). */
  readonly summary: (label: (name: string) => string) => string;
  /** The description, from a label reader and the formatted value. */
  readonly description: (
    label: (name: string) => string,
    value: string,
  ) => string;
  /** The alert's labels in the firing case, `job`, `instance` and `severity` aside. */
  readonly labels: Readonly<Record<string, string>>;
  /** Whether the alert keeps the `instance` label (its expression does not sum it away). */
  readonly byInstance: boolean;
  /** The alert's value in the firing case. */
  readonly value: number;
  /** Series that breach the condition from the start. */
  readonly firing: (minutes: number) => readonly KitSeries[];
  /** Series close to the threshold that must not fire. */
  readonly healthy: (minutes: number) => readonly KitSeries[];
  /** The longest range the expression reads, in minutes. */
  readonly rangeMinutes: number;
  /**
   * For an alert on a histogram's quantile: the histogram and threshold,
   * which must be below its largest finite bucket bound, or
   * `histogram_quantile` could never pass it.
   */
  readonly quantile?: {
    readonly family: string;
    readonly threshold: number;
    /** The kit option that sets the threshold, for the error message. */
    readonly option: string;
  };
}

/** What a kit contributes to the generated dashboards and rules. */
export interface Kit {
  /** The kit's name, as config declares it: `cache`, `llm`... */
  readonly kind: string;
  /** The dashboard row's title. */
  readonly title: string;
  /** The family whose presence in a registry shows the kit is in use. */
  readonly marker: string;
  /** Every family the kit registers: the generators add filters to these. */
  readonly families: readonly string[];
  /** Its dashboard panels, one row. */
  readonly panels: readonly KitPanel[];
  /** Recording rules its alerts or panels reuse. */
  readonly recording: readonly KitRecording[];
  /** Its alerts. */
  readonly alerts: readonly KitAlert[];
}
