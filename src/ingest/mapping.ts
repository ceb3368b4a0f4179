/**
 * StatsD name mapping, as Prometheus's statsd_exporter maps names
 * (`pkg/mapper/mapper.go`, `pkg/mapper/fsm/`): glob rules from dotted names
 * to metric names and labels, and the defaults for names no rule matches.
 *
 * - A glob is dotted components, each a literal or `*`; `*` matches exactly
 *   one whole component (possibly empty). The first matching rule wins, in
 *   the order given (statsd_exporter's default ordering).
 * - `$1`..`$n` and `${1}` in `name` and label values are replaced by the
 *   components the stars matched. The substituted name is sanitised with
 *   {@linkcode escapeMetricName}, as statsd_exporter does; a name that is
 *   still invalid (empty, `__`-prefixed) is the `invalid` result, which the
 *   caller counts as a rejected line (`bad_name`).
 * - `type` restricts a rule to `counter`, `gauge` or `observer` (statsd_exporter's
 *   `match_metric_type`), or `set` (Vigil's: statsd_exporter has no sets).
 * - `action: "drop"` discards the matching lines.
 * - Without a matching rule: the sanitised name; counters get `_total`,
 *   timers become `<name>_seconds` (each unless the name already ends so).
 *   Vigil's choice, not statsd_exporter's, which keeps the bare name.
 * - Timers (`ms`) are scaled to seconds (`scale` 0.001) whether mapped or
 *   not, as statsd_exporter's line parser does; `h` and `d` are unit-less.
 *
 * Rule labels override tags of the same name ({@linkcode mergeLabels}), as
 * statsd_exporter does without `honor_labels`.
 *
 * @module
 */
import { labelNameProblem, metricNameProblem } from "../base/_validation.ts";
import {
  escapeMetricName,
  type StatsdLine,
  type StatsdType,
} from "./statsd.ts";

/** The metric kinds a StatsD line is recorded as. */
export const MappedKind = {
  /** A counter (`c`). */
  Counter: "counter",
  /** A gauge (`g`). */
  Gauge: "gauge",
  /** A histogram (`ms`, `h`, `d` by default). */
  Histogram: "histogram",
  /** A summary (`ms`, `h`, `d` with `observer: "summary"`). */
  Summary: "summary",
  /** Distinct members counted over a window (`s`). */
  Set: "set",
} as const;

/** One of the values of {@linkcode MappedKind}. */
export type MappedKind = typeof MappedKind[keyof typeof MappedKind];

/** The type classes a rule may be restricted to. */
export const MatchType = {
  /** `c` lines. */
  Counter: "counter",
  /** `g` lines. */
  Gauge: "gauge",
  /** `ms`, `h` and `d` lines. */
  Observer: "observer",
  /** `s` lines. */
  Set: "set",
} as const;

/** One of the values of {@linkcode MatchType}. */
export type MatchType = typeof MatchType[keyof typeof MatchType];

/** How observations (`ms`, `h`, `d`) are recorded. */
export type ObserverKind = "histogram" | "summary";

/** One mapping rule, as in statsd_exporter's mapping config. */
export interface MappingRule {
  /** A dotted glob, e.g. `api.*.requests`. */
  readonly match: string;
  /** The metric name, with `$1`..`$n` for the captured components. */
  readonly name: string;
  /** Label names to values, with `$1`..`$n` for the captured components. */
  readonly labels?: Readonly<Record<string, string>>;
  /** Restricts the rule to one type class. */
  readonly type?: MatchType;
  /**
   * `map` records; `drop` discards the lines.
   * @default {"map"}
   */
  readonly action?: "map" | "drop";
  /**
   * How observations are recorded; the mapper's `defaultObserver` when unset.
   */
  readonly observer?: ObserverKind;
}

/** Options of {@linkcode StatsdMapper}. */
export interface StatsdMapperOptions {
  /**
   * The rules, first match wins.
   * @default {[]}
   */
  readonly mappings?: readonly MappingRule[];
  /**
   * How observations are recorded when no rule sets `observer`.
   * @default {"histogram"}
   */
  readonly defaultObserver?: ObserverKind;
  /**
   * The most distinct names remembered per StatsD type; the oldest entry is
   * evicted past it.
   * @default {10000}
   */
  readonly maxCacheSize?: number;
}

/** A line to record: the metric, its rule labels and a value scale. */
export interface MappedMetric {
  /** The kind of metric to record into. */
  readonly kind: MappedKind;
  /** A valid Prometheus metric name. */
  readonly name: string;
  /** Label names from the rule (tags are merged by {@linkcode mergeLabels}). */
  readonly labelNames: readonly string[];
  /** Label values from the rule, parallel to `labelNames`. */
  readonly labelValues: readonly string[];
  /** Multiply each value by this: 0.001 for timers, 1 otherwise. */
  readonly scale: number;
  /** The index of the matching rule, or -1 when none matched. */
  readonly rule: number;
}

/** A line a `drop` rule discards. */
export interface DroppedMetric {
  /** Always `"drop"`. */
  readonly kind: "drop";
  /** The index of the matching rule. */
  readonly rule: number;
}

/** A line whose metric name is invalid even after sanitising. */
export interface InvalidMetric {
  /** Always `"invalid"`. */
  readonly kind: "invalid";
  /** The reason label for the rejection counter. */
  readonly reason: "bad_name";
  /** The offending name, after substitution and sanitising. */
  readonly name: string;
  /** The index of the matching rule, or -1 when none matched. */
  readonly rule: number;
}

/** What {@linkcode StatsdMapper.map} returns. */
export type StatsdMapping = MappedMetric | DroppedMetric | InvalidMetric;

const DEFAULT_MAX_CACHE = 10_000;
const STATSD_TYPES: readonly StatsdType[] = ["c", "g", "ms", "h", "d", "s"];
const CLASS_OF: Readonly<Record<StatsdType, MatchType>> = {
  c: "counter",
  g: "gauge",
  ms: "observer",
  h: "observer",
  d: "observer",
  s: "set",
};
const MATCH_TYPES: ReadonlySet<string> = new Set(Object.values(MatchType));
// statsd_exporter's component rule: a letter or `_`, then single dashes
// between `[a-zA-Z0-9_]`.
const GLOB_COMPONENT = /^[a-zA-Z_](?:-?[a-zA-Z0-9_])*$/;
// statsd_exporter's `metricNameRE`: name characters or `$n` / `${n}`.
const NAME_TEMPLATE =
  /^(?:[a-zA-Z_]|\$\{?\d+\}?)(?:[a-zA-Z0-9_]|\$\{?\d+\}?)*$/;
const REFERENCE = /\$(?:\{(\d+)\}|(\d+))/g;

/** A template split into literal text and capture indexes (0-based). */
type Template = readonly (string | number)[];

interface CompiledRule {
  readonly index: number;
  readonly types: ReadonlySet<MatchType> | undefined;
  readonly drop: boolean;
  readonly observer: ObserverKind;
  readonly name: Template;
  readonly labelNames: readonly string[];
  readonly labelValues: readonly Template[];
}

interface Node {
  readonly children: Map<string, Node>;
  star: Node | undefined;
  /** Rules ending here, in rule order. */
  readonly rules: CompiledRule[];
}

function newNode(): Node {
  return { children: new Map(), star: undefined, rules: [] };
}

function compileTemplate(
  text: string,
  captures: number,
  where: string,
): Template {
  const parts: (string | number)[] = [];
  let last = 0;
  for (const match of text.matchAll(REFERENCE)) {
    const n = Number(match[1] ?? match[2]);
    if (!(n >= 1 && n <= captures)) {
      throw new RangeError(
        `Cannot compile StatsD mappings: ${where} refers to $${n}, but the glob has ${captures} capture${
          captures === 1 ? "" : "s"
        }`,
      );
    }
    if (match.index > last) parts.push(text.slice(last, match.index));
    parts.push(n - 1);
    last = match.index + match[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return parts;
}

function render(template: Template, captures: readonly string[]): string {
  let out = "";
  for (const part of template) {
    out += typeof part === "number" ? captures[part]! : part;
  }
  return out;
}

function checkObserver(value: unknown, where: string): ObserverKind {
  if (value !== "histogram" && value !== "summary") {
    throw new TypeError(
      `Cannot compile StatsD mappings: ${where} must be "histogram" or "summary", got ${
        JSON.stringify(value)
      }`,
    );
  }
  return value;
}

function compileRule(
  rule: MappingRule,
  index: number,
  defaultObserver: ObserverKind,
): { components: string[]; compiled: CompiledRule } {
  const at = `mappings[${index}]`;
  if (typeof rule !== "object" || rule === null) {
    throw new TypeError(
      `Cannot compile StatsD mappings: ${at} must be an object`,
    );
  }
  if (typeof rule.match !== "string") {
    throw new TypeError(
      `Cannot compile StatsD mappings: ${at}.match must be a string`,
    );
  }
  const components = rule.match.split(".");
  let captures = 0;
  for (const component of components) {
    if (component === "*") captures++;
    else if (!GLOB_COMPONENT.test(component)) {
      throw new TypeError(
        `Cannot compile StatsD mappings: ${at}.match ${
          JSON.stringify(rule.match)
        } has an invalid component ${
          JSON.stringify(component)
        }: each must be "*" or match ${GLOB_COMPONENT.source}`,
      );
    }
  }
  if (typeof rule.name !== "string" || !NAME_TEMPLATE.test(rule.name)) {
    throw new TypeError(
      `Cannot compile StatsD mappings: ${at}.name ${
        JSON.stringify(rule.name)
      } must match ${NAME_TEMPLATE.source}`,
    );
  }
  const name = compileTemplate(rule.name, captures, `${at}.name`);
  if (
    typeof name[0] === "string" && name[0].startsWith("__")
  ) {
    throw new TypeError(
      `Cannot compile StatsD mappings: ${at}.name "${rule.name}": names starting with "__" are reserved`,
    );
  }
  let types: ReadonlySet<MatchType> | undefined;
  if (rule.type !== undefined) {
    if (!MATCH_TYPES.has(rule.type)) {
      throw new TypeError(
        `Cannot compile StatsD mappings: ${at}.type must be one of ${
          [...MATCH_TYPES].join(", ")
        }, got ${JSON.stringify(rule.type)}`,
      );
    }
    types = new Set([rule.type]);
  }
  const action = rule.action ?? "map";
  if (action !== "map" && action !== "drop") {
    throw new TypeError(
      `Cannot compile StatsD mappings: ${at}.action must be "map" or "drop", got ${
        JSON.stringify(action)
      }`,
    );
  }
  const observer = rule.observer === undefined
    ? defaultObserver
    : checkObserver(rule.observer, `${at}.observer`);
  const labelNames: string[] = [];
  const labelValues: Template[] = [];
  const labels = rule.labels ?? {};
  if (typeof labels !== "object" || labels === null) {
    throw new TypeError(
      `Cannot compile StatsD mappings: ${at}.labels must be an object`,
    );
  }
  for (const [label, value] of Object.entries(labels)) {
    const problem = labelNameProblem(label);
    if (problem !== undefined) {
      throw new TypeError(
        `Cannot compile StatsD mappings: ${at}.labels: ${problem}`,
      );
    }
    if (typeof value !== "string") {
      throw new TypeError(
        `Cannot compile StatsD mappings: ${at}.labels.${label} must be a string`,
      );
    }
    labelNames.push(label);
    labelValues.push(
      compileTemplate(value, captures, `${at}.labels.${label}`),
    );
  }
  return {
    components,
    compiled: {
      index,
      types,
      drop: action === "drop",
      observer,
      name,
      labelNames,
      labelValues,
    },
  };
}

/**
 * Maps StatsD names to metrics: compiled rules in a trie keyed by dotted
 * component, and a bounded cache of results per distinct name and type.
 *
 * @example A glob rule, and the defaults without one
 * ```ts
 * import { StatsdMapper } from "./mapping.ts";
 * import assert from "node:assert/strict";
 *
 * const mapper = new StatsdMapper({
 *   mappings: [{
 *     match: "api.*.requests",
 *     name: "api_requests_total",
 *     labels: { endpoint: "$1" },
 *   }],
 * });
 * const mapped = mapper.map("api.login.requests", "c");
 * assert.equal(mapped.kind, "counter");
 * assert.ok(mapped.kind === "counter");
 * assert.equal(mapped.name, "api_requests_total");
 * assert.deepEqual(mapped.labelValues, ["login"]);
 *
 * const timer = mapper.map("db.query", "ms");
 * assert.ok(timer.kind === "histogram");
 * assert.equal(timer.name, "db_query_seconds");
 * assert.equal(timer.scale, 0.001);
 * ```
 */
export class StatsdMapper {
  readonly #root: Node = newNode();
  readonly #hasRules: boolean;
  readonly #defaultObserver: ObserverKind;
  readonly #maxCacheSize: number;
  readonly #caches: Map<StatsdType, Map<string, StatsdMapping>> = new Map();

  /**
   * Compiles the rules; every rule is checked here.
   *
   * @param options The rules, the default observer and the cache bound.
   * @throws {TypeError} Naming `mappings[i].match`, `.name`, `.labels`,
   *   `.type`, `.action` or `.observer` and what is wrong with it.
   * @throws {RangeError} For a `$n` beyond the glob's captures, or a
   *   `maxCacheSize` that is not a positive integer.
   */
  constructor(options: StatsdMapperOptions = {}) {
    const max = options.maxCacheSize ?? DEFAULT_MAX_CACHE;
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(
        `Cannot compile StatsD mappings: maxCacheSize must be a positive integer, got ${
          String(max)
        }`,
      );
    }
    this.#maxCacheSize = max;
    this.#defaultObserver = checkObserver(
      options.defaultObserver ?? "histogram",
      "defaultObserver",
    );
    const rules = options.mappings ?? [];
    if (!Array.isArray(rules)) {
      throw new TypeError(
        "Cannot compile StatsD mappings: mappings must be an array",
      );
    }
    rules.forEach((rule: MappingRule, index: number) => {
      const { components, compiled } = compileRule(
        rule,
        index,
        this.#defaultObserver,
      );
      let node = this.#root;
      for (const component of components) {
        if (component === "*") {
          node = node.star ??= newNode();
        } else {
          let child = node.children.get(component);
          if (child === undefined) {
            child = newNode();
            node.children.set(component, child);
          }
          node = child;
        }
      }
      node.rules.push(compiled);
    });
    this.#hasRules = rules.length > 0;
    for (const type of STATSD_TYPES) this.#caches.set(type, new Map());
  }

  /**
   * Maps a StatsD name and type. Results are cached per type and name, so a
   * repeated name costs one `Map` lookup and allocates nothing.
   *
   * @param name The dotted name as sent ({@linkcode StatsdLine.name}).
   * @param type The StatsD type of the line.
   * @returns The metric to record, a drop, or an invalid name.
   */
  map(name: string, type: StatsdType): StatsdMapping {
    const cache = this.#caches.get(type)!;
    const cached = cache.get(name);
    if (cached !== undefined) return cached;
    const result = this.#resolve(name, type);
    if (cache.size >= this.#maxCacheSize) {
      cache.delete(cache.keys().next().value!);
    }
    cache.set(name, result);
    return result;
  }

  /** How many results are cached, over all types. */
  get cacheSize(): number {
    let size = 0;
    for (const cache of this.#caches.values()) size += cache.size;
    return size;
  }

  #resolve(name: string, type: StatsdType): StatsdMapping {
    const scale = type === "ms" ? 0.001 : 1;
    if (this.#hasRules) {
      const components = name.split(".");
      const captures: string[] = [];
      const found = this.#match(components, type);
      if (found !== undefined) {
        const { rule, stars } = found;
        if (rule.drop) return Object.freeze({ kind: "drop", rule: rule.index });
        for (const star of stars) captures.push(components[star]!);
        const metric = escapeMetricName(render(rule.name, captures));
        if (metricNameProblem(metric) !== undefined) {
          return invalid(metric, rule.index);
        }
        return Object.freeze({
          kind: kindOf(type, rule.observer),
          name: metric,
          labelNames: rule.labelNames,
          labelValues: Object.freeze(
            rule.labelValues.map((value) => render(value, captures)),
          ),
          scale,
          rule: rule.index,
        });
      }
    }
    let metric = escapeMetricName(name);
    if (type === "c" && !metric.endsWith("_total")) metric += "_total";
    if (type === "ms" && !metric.endsWith("_seconds")) metric += "_seconds";
    if (metricNameProblem(metric) !== undefined) return invalid(metric, -1);
    return Object.freeze({
      kind: kindOf(type, this.#defaultObserver),
      name: metric,
      labelNames: EMPTY,
      labelValues: EMPTY,
      scale,
      rule: -1,
    });
  }

  /**
   * The first rule (lowest index) whose glob matches all components and
   * whose type class admits the line; `stars` are the captured positions.
   * Depth-first over literal then `*` children, keeping the best so far.
   */
  #match(
    components: readonly string[],
    type: StatsdType,
  ): { rule: CompiledRule; stars: number[] } | undefined {
    const matchType = CLASS_OF[type];
    let best: CompiledRule | undefined;
    let bestStars: number[] = [];
    const stars: number[] = [];
    const visit = (node: Node, depth: number): void => {
      if (depth === components.length) {
        for (const rule of node.rules) {
          if (best !== undefined && rule.index >= best.index) break;
          if (rule.types === undefined || rule.types.has(matchType)) {
            best = rule;
            bestStars = [...stars];
            break;
          }
        }
        return;
      }
      const child = node.children.get(components[depth]!);
      if (child !== undefined) visit(child, depth + 1);
      if (node.star !== undefined) {
        stars.push(depth);
        visit(node.star, depth + 1);
        stars.pop();
      }
    };
    visit(this.#root, 0);
    return best === undefined ? undefined : { rule: best, stars: bestStars };
  }
}

const EMPTY: readonly string[] = Object.freeze([]);

function invalid(name: string, rule: number): InvalidMetric {
  return Object.freeze({ kind: "invalid", reason: "bad_name", name, rule });
}

function kindOf(type: StatsdType, observer: ObserverKind): MappedKind {
  switch (type) {
    case "c":
      return "counter";
    case "g":
      return "gauge";
    case "s":
      return "set";
    default:
      return observer;
  }
}

/** Parallel label name and value arrays. */
export interface LabelArrays {
  /** Label names. */
  names: string[];
  /** Label values, parallel to `names`. */
  values: string[];
}

/** Options of {@linkcode mergeLabels}. */
export interface MergeLabelsOptions {
  /**
   * Arrays to write into (cleared first), so a hot path reuses one pair
   * instead of allocating per line.
   * @default {{ names: [], values: [] }}
   */
  readonly into?: LabelArrays;
}

/**
 * Merges a line's tags with a mapping's rule labels: rule labels come
 * first and win over tags of the same name, as in statsd_exporter without
 * `honor_labels`.
 *
 * @param mapped The mapping of the line.
 * @param tags The line's sanitised tags (a {@linkcode StatsdLine} fits).
 * @param options Where to write the result.
 * @returns The merged labels (`options.into` when given).
 *
 * @example Rule labels override tags
 * ```ts
 * import { mergeLabels, StatsdMapper } from "./mapping.ts";
 * import assert from "node:assert/strict";
 *
 * const mapper = new StatsdMapper({
 *   mappings: [{ match: "api.*", name: "api_total", labels: { route: "$1" } }],
 * });
 * const mapped = mapper.map("api.login", "c");
 * assert.ok(mapped.kind === "counter");
 * const merged = mergeLabels(mapped, {
 *   tagNames: ["route", "env"],
 *   tagValues: ["x", "prod"],
 * });
 * assert.deepEqual(merged.names, ["route", "env"]);
 * assert.deepEqual(merged.values, ["login", "prod"]);
 * ```
 */
export function mergeLabels(
  mapped: MappedMetric,
  tags: Pick<StatsdLine, "tagNames" | "tagValues">,
  options: MergeLabelsOptions = {},
): LabelArrays {
  const out = options.into ?? { names: [], values: [] };
  out.names.length = 0;
  out.values.length = 0;
  const ruleNames = mapped.labelNames;
  for (let i = 0; i < ruleNames.length; i++) {
    out.names.push(ruleNames[i]!);
    out.values.push(mapped.labelValues[i]!);
  }
  const { tagNames, tagValues } = tags;
  for (let i = 0; i < tagNames.length; i++) {
    const name = tagNames[i]!;
    if (ruleNames.length > 0 && ruleNames.includes(name)) continue;
    out.names.push(name);
    out.values.push(tagValues[i]!);
  }
  return out;
}
