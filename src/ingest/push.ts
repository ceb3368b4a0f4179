/**
 * A Pushgateway-compatible API: batch jobs push text format 0.0.4 bodies to
 * `PUT|POST|DELETE /metrics/job/<job>{/<label>/<value>}`, and the groups
 * are exposed on the registry's `/metrics` through a
 * {@linkcode Collector}.
 *
 * Semantics follow prometheus/pushgateway (README, `handler/push.go`,
 * `storage/diskmetricstore.go`, checked against Debian's 1.5.1):
 * - `PUT` replaces the whole group, `POST` only the metrics of the body's
 *   names; both answer 200. `DELETE` removes the group and answers 202.
 * - Grouping labels override body labels of the same name and are added to
 *   every sample; a sample without `instance` gets `instance=""`. A label
 *   with an empty value is no label (as Prometheus stores it): in the path
 *   it is dropped, so `job/e/instance@base64/=` is the group `job/e`; in
 *   the body it is kept as sent but two series that differ only in empty
 *   labels are one, so `dd{instance=""} 1` plus `dd 2` is refused.
 * - Series must be unique once their final label set is built, within the
 *   body and across groups (two groups whose final label sets meet on one
 *   metric): else 400 naming the metric, as Pushgateway answers ("was
 *   collected before with the same name and label values").
 * - The registry's default labels (`metrics.defaultLabels`) are applied
 *   here, as body labels that the body's own labels and the grouping
 *   labels override, before the duplicate check: the registry then finds
 *   them present and adds nothing at render, so what was checked is what
 *   is served. They belong to the group's labels too, so `job/a` with a
 *   default `region="eu"` is the group `job/a/region/eu`.
 * - Each group has `push_time_seconds` (last success) and
 *   `push_failure_time_seconds` (last failure, 0 until one) gauges labelled
 *   with its grouping labels. A body that parses but is inconsistent (a
 *   metric whose type differs from the same name pushed by another group, a
 *   name or sample name taken by the registry, a series given twice once the
 *   grouping labels apply) is answered 400 and sets
 *   `push_failure_time_seconds`, creating the group if needed, as
 *   Pushgateway does. A body that does not parse is answered 400 naming the
 *   line and the reason, and changes nothing.
 * - Prometheus must scrape the server with `honor_labels: true`, or it
 *   renames the pushed `job` and `instance` labels to `exported_job` and
 *   `exported_instance`.
 *
 * Deliberate differences:
 * - Groups expire `ttlSeconds` after their last push when set (Pushgateway
 *   keeps them until deleted, the caveat its README names first).
 * - Memory is bounded: `maxBodyBytes`, `maxSeries`, `maxGroups`,
 *   `maxBytes` (estimated per series), `maxLabelValueLength` and
 *   `maxHelpLength` are answered 413 naming the limit, and change nothing;
 *   a body must arrive within `requestTimeoutMs` (else 408), and at most
 *   `maxPendingBodies` are read at once (else 503).
 * - Protobuf bodies (`application/vnd.google.protobuf`) are answered 415:
 *   every client library also pushes text.
 * - A sample with a timestamp, or a body label name starting with `__`,
 *   is a parse error (no failure time set); Pushgateway refuses both too,
 *   but records a failure time.
 * - An empty grouping value is dropped, so `job/e/instance@base64/=` is the
 *   group `job/e` and replaces it; Pushgateway keeps a second group with
 *   the same labels, refuses the push, and then refuses every push for
 *   their clashing `push_time_seconds`.
 * - The grouping path is stricter (see `grouping.ts`); like Pushgateway it
 *   percent-decodes every segment, label names and base64 values included.
 * - The parser is stricter or plainer in places (see `push_text.ts`): a
 *   histogram with buckets but no `_sum`/`_count` (or no `+Inf` bucket) is
 *   kept as sent, where Pushgateway fills in zero `_sum`/`_count` and a
 *   `+Inf` bucket; a HELP text with a tab is kept as sent; a sample
 *   `x_bucket` without `le` in histogram `x` is refused (400).
 * - Go's client_golang pushes protobuf by default (`expfmt.FmtProtoDelim`),
 *   which is answered 415: push to Vigil with
 *   `push.New(url, job).Format(expfmt.FmtText)`.
 * - Pushed data comes out as pushed: `le` and `quantile` values verbatim,
 *   and a counter whose name lacks `_total` keeps its sample names; in
 *   OpenMetrics such a counter is typed `unknown` (Pushgateway has no
 *   OpenMetrics output to compare with).
 * - A pushed `<name>_created` gauge (Python's client pushes one per
 *   counter, histogram and summary) is served as a gauge of its own; in
 *   OpenMetrics it can clash, for a strict parser, with the `_created`
 *   sample of the family `<name>` (Prometheus accepts it).
 * - Authentication is the caller's: the server wraps write routes.
 *
 * @module
 */
import {
  DEFAULT_MAX_LABEL_VALUE_LENGTH,
  type Registry,
} from "../metrics/registry.ts";
import { renderPairs } from "../base/_text.ts";
import {
  type CollectedFamily,
  collectedNames,
  type CollectedSample,
  type CollectedType,
  type Collector,
} from "../metrics/collector.ts";
import { parsePushText, PushTextError } from "./push_text.ts";
import {
  type GroupingKey,
  GroupingKeyError,
  parseGroupingPath,
} from "./grouping.ts";

/** Options of {@linkcode PushGateway}. */
export interface PushGatewayOptions {
  /**
   * Seconds after its last push (success or failure) at which a group is
   * dropped; checked at each scrape and push. Undefined: never.
   * @default {undefined}
   */
  readonly ttlSeconds?: number | undefined;
  /**
   * The most groups kept; a push that would open one more is answered 413.
   * @default {1000}
   */
  readonly maxGroups?: number | undefined;
  /**
   * The most series kept across all groups (the push gauges not counted);
   * a push that would exceed it is answered 413.
   * @default {100000}
   */
  readonly maxSeries?: number | undefined;
  /**
   * The largest body, in bytes, after gzip decompression too; a larger one
   * is answered 413.
   * @default {16777216}
   */
  readonly maxBodyBytes?: number | undefined;
  /**
   * The most bytes the groups may hold, estimated per series from its
   * names and labels; a push that would exceed it is answered 413.
   * @default {67108864}
   */
  readonly maxBytes?: number | undefined;
  /**
   * The longest label value, body or grouping path, in UTF-16 code units;
   * a longer one is answered 413.
   * @default {4096}
   */
  readonly maxLabelValueLength?: number | undefined;
  /**
   * The longest HELP text, in UTF-16 code units; a longer one is answered
   * 413.
   * @default {4096}
   */
  readonly maxHelpLength?: number | undefined;
  /**
   * Milliseconds a body has to arrive in; a slower one is answered 408.
   * @default {10000}
   */
  readonly requestTimeoutMs?: number | undefined;
  /**
   * The most bodies read at once; a push beyond them is answered 503, so
   * memory stays bounded by this times `maxBodyBytes`.
   * @default {64}
   */
  readonly maxPendingBodies?: number | undefined;
  /**
   * The clock, in milliseconds since the Unix epoch.
   * @default {Date.now}
   */
  readonly now?: (() => number) | undefined;
}

/** The defaults of {@linkcode PushGatewayOptions}. */
export const PUSH_GATEWAY_DEFAULTS = {
  maxGroups: 1000,
  maxSeries: 100_000,
  maxBodyBytes: 16 * 1024 * 1024,
  maxBytes: 64 * 1024 * 1024,
  maxLabelValueLength: DEFAULT_MAX_LABEL_VALUE_LENGTH,
  maxHelpLength: 4096,
  requestTimeoutMs: 10_000,
  maxPendingBodies: 64,
} as const;

const PUSH_TIME = "push_time_seconds";
const PUSH_FAILURE_TIME = "push_failure_time_seconds";
const PUSH_TIME_HELP =
  "Last Unix time when changing this group in the Pushgateway succeeded.";
const PUSH_FAILURE_TIME_HELP =
  "Last Unix time when changing this group in the Pushgateway failed.";

interface StoredFamily {
  readonly name: string;
  readonly type: CollectedType;
  readonly help: string | undefined;
  readonly samples: CollectedSample[];
  /** `name{labels}` of each sample as rendered, parallel to `samples`. */
  readonly keys: string[];
  /** The estimated bytes held. */
  readonly bytes: number;
}

/** A group's final labels: what its push gauges and samples carry. */
interface GroupLabels {
  /** `name="value"` pairs of the final labels: the map key. */
  readonly key: string;
  /** Default labels, grouping labels and `instance`, sorted. */
  readonly labelNames: readonly string[];
  readonly labelValues: readonly string[];
  /** `name="value"` pairs of the non-empty final labels: series keys. */
  readonly pairs: string;
  /** The grouping labels as parsed (empty values dropped). */
  readonly grouping: GroupingKey;
}

interface Group {
  readonly key: string;
  /** Default labels, grouping labels and `instance`, sorted. */
  readonly labelNames: readonly string[];
  readonly labelValues: readonly string[];
  readonly families: Map<string, StoredFamily>;
  series: number;
  pushTime: number;
  failureTime: number;
  /** Milliseconds, for the TTL. */
  touched: number;
}

/** What all groups hold under one family name. */
interface FamilyUse {
  readonly type: CollectedType;
  /** Groups holding the family. */
  refs: number;
}

class PushRefused extends Error {
  readonly status: number;
  /** Whether Pushgateway would record a failure time for it. */
  readonly failure: boolean;
  constructor(status: number, message: string, failure: boolean) {
    super(message);
    this.name = "PushRefused";
    this.status = status;
    this.failure = failure;
  }
}

function positiveInteger(
  name: string,
  value: number | undefined,
  fallback: number,
): number {
  const limit = value ?? fallback;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(
      `Cannot create push gateway: ${name} must be a positive integer, got ${
        String(limit)
      }`,
    );
  }
  return limit;
}

function text(
  status: number,
  body: string,
  headers: HeadersInit = {},
): Response {
  return new Response(body === "" ? null : body + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}

/**
 * A Pushgateway-compatible store of pushed groups, exposed through the
 * registry it registers itself with. Route `PUT|POST|DELETE
 * /metrics/job/...` to {@linkcode PushGateway.handle}; authentication and
 * routing are the caller's.
 *
 * Prometheus must scrape the server with `honor_labels: true`, so the
 * pushed `job` and `instance` labels are kept.
 *
 * @example Push a group and read it back
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { PushGateway } from "./push.ts";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const gateway = new PushGateway(registry, { ttlSeconds: 3600 });
 * const response = await gateway.handle(
 *   new Request("http://localhost/metrics/job/backup", {
 *     method: "PUT",
 *     body: "# TYPE backup_bytes gauge\nbackup_bytes 42\n",
 *   }),
 *   "job/backup",
 * );
 * assert.equal(response.status, 200);
 * assert.match(
 *   await registry.metrics(),
 *   /^backup_bytes\{instance="",job="backup"\} 42$/m,
 * );
 * gateway.close();
 * await registry.close();
 * ```
 */
export class PushGateway implements Collector {
  readonly #groups = new Map<string, Group>();
  readonly #uses = new Map<string, FamilyUse>();
  /** Names each family writes, to its family: clashes are refused. */
  readonly #owners = new Map<string, string>();
  /** Every stored series, `name{labels}` as rendered, to its family. */
  readonly #index = new Map<string, StoredFamily>();
  readonly #registry: Registry;
  readonly #defaultNames: readonly string[];
  readonly #defaultValues: readonly string[];
  readonly #ttlMs: number | undefined;
  readonly #maxGroups: number;
  readonly #maxSeries: number;
  readonly #maxBodyBytes: number;
  readonly #maxBytes: number;
  readonly #maxLabelValueLength: number;
  readonly #maxHelpLength: number;
  readonly #requestTimeoutMs: number;
  readonly #maxPendingBodies: number;
  readonly #now: () => number;
  readonly #unregister: () => boolean;
  #series = 0;
  #bytes = 0;
  #pending = 0;
  #closed = false;

  /**
   * Creates the gateway and registers it with `registry`.
   *
   * @param registry Where the groups are exposed; its default labels are
   *   applied to the pushed series here (see the module's notes).
   * @param options TTL, limits and clock.
   * @throws {RangeError} When an option is out of range.
   * @throws {DuplicateMetricError} When `push_time_seconds` or
   *   `push_failure_time_seconds` is registered already.
   */
  constructor(registry: Registry, options: PushGatewayOptions = {}) {
    const ttl = options.ttlSeconds;
    if (ttl !== undefined && !(Number.isFinite(ttl) && ttl > 0)) {
      throw new RangeError(
        `Cannot create push gateway: ttlSeconds must be a positive number, got ${ttl}`,
      );
    }
    this.#ttlMs = ttl === undefined ? undefined : ttl * 1000;
    const limit = (name: keyof typeof PUSH_GATEWAY_DEFAULTS) =>
      positiveInteger(name, options[name], PUSH_GATEWAY_DEFAULTS[name]);
    this.#maxGroups = limit("maxGroups");
    this.#maxSeries = limit("maxSeries");
    this.#maxBodyBytes = limit("maxBodyBytes");
    this.#maxBytes = limit("maxBytes");
    this.#maxLabelValueLength = limit("maxLabelValueLength");
    this.#maxHelpLength = limit("maxHelpLength");
    this.#requestTimeoutMs = limit("requestTimeoutMs");
    this.#maxPendingBodies = limit("maxPendingBodies");
    this.#now = options.now ?? Date.now;
    const defaults = Object.entries(registry.defaultLabels()).sort((a, b) =>
      a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
    );
    this.#defaultNames = defaults.map((pair) => pair[0]);
    this.#defaultValues = defaults.map((pair) => pair[1]);
    this.#registry = registry;
    this.#unregister = registry.register(this);
  }

  /**
   * The two push gauges, claimed in the registry.
   *
   * @returns `push_time_seconds` and `push_failure_time_seconds`.
   */
  describe(): readonly string[] {
    return [PUSH_TIME, PUSH_FAILURE_TIME];
  }

  /**
   * The pushed families merged by name across groups, then the push
   * gauges. Expired groups are dropped first.
   *
   * @returns The families.
   */
  collect(): CollectedFamily[] {
    this.#expire();
    if (this.#groups.size === 0) return [];
    const merged = new Map<
      string,
      CollectedFamily & {
        samples: CollectedSample[];
      }
    >();
    const pushTimes: CollectedSample[] = [];
    const failureTimes: CollectedSample[] = [];
    for (const group of this.#groups.values()) {
      for (const family of group.families.values()) {
        const found = merged.get(family.name);
        if (found === undefined) {
          merged.set(family.name, {
            name: family.name,
            type: family.type,
            help: family.help,
            samples: family.samples.slice(),
          });
        } else {
          for (const sample of family.samples) found.samples.push(sample);
        }
      }
      const { labelNames, labelValues } = group;
      pushTimes.push({
        name: PUSH_TIME,
        labelNames,
        labelValues,
        value: group.pushTime,
      });
      failureTimes.push({
        name: PUSH_FAILURE_TIME,
        labelNames,
        labelValues,
        value: group.failureTime,
      });
    }
    return [
      ...merged.values(),
      {
        name: PUSH_FAILURE_TIME,
        type: "gauge",
        help: PUSH_FAILURE_TIME_HELP,
        samples: failureTimes,
      },
      {
        name: PUSH_TIME,
        type: "gauge",
        help: PUSH_TIME_HELP,
        samples: pushTimes,
      },
    ];
  }

  /** The number of groups kept now (expired ones dropped first). */
  get groups(): number {
    this.#expire();
    return this.#groups.size;
  }

  /**
   * Handles a push: `PUT` (replace the group), `POST` (replace the body's
   * metrics in the group) or `DELETE` (remove the group).
   *
   * @param request The request; its body is text format 0.0.4, gzipped when
   *   `Content-Encoding: gzip`.
   * @param path The URL path after `/metrics/`, still percent-encoded:
   *   `job/<job>{/<label>/<value>}`.
   * @returns 200 (pushed), 202 (deleted), 400 (bad path or body, or
   *   inconsistent metrics, naming the cause), 405, 408 (the body came too
   *   slowly), 413 (a limit, named), 415 (protobuf or an unknown encoding)
   *   or 503 (closed, or too many bodies being read).
   */
  async handle(request: Request, path: string): Promise<Response> {
    const method = request.method;
    if (method !== "PUT" && method !== "POST" && method !== "DELETE") {
      await request.body?.cancel();
      return text(405, `Cannot push metrics: method ${method} is not allowed`, {
        allow: "PUT, POST, DELETE",
      });
    }
    if (this.#closed) {
      await request.body?.cancel();
      return text(503, "Cannot push metrics: the push gateway is closed");
    }
    let labels: GroupLabels;
    try {
      labels = this.#groupLabels(parseGroupingPath(path));
    } catch (error) {
      await request.body?.cancel();
      if (error instanceof PushRefused) {
        return text(error.status, error.message);
      }
      if (!(error instanceof GroupingKeyError)) throw error;
      return text(400, error.message);
    }
    this.#expire();
    if (method === "DELETE") {
      await request.body?.cancel();
      const group = this.#groups.get(labels.key);
      if (group !== undefined) this.#drop(group);
      return text(202, "");
    }
    const contentType = request.headers.get("content-type") ?? "";
    if (/^\s*application\/vnd\.google\.protobuf/i.test(contentType)) {
      await request.body?.cancel();
      return text(
        415,
        "Cannot push metrics: protobuf bodies are not supported: push text format 0.0.4 (text/plain; version=0.0.4)",
      );
    }
    if (this.#pending >= this.#maxPendingBodies) {
      await request.body?.cancel();
      return text(
        503,
        `Cannot push metrics: ${this.#maxPendingBodies} bodies are being read already (maxPendingBodies)`,
        { "retry-after": "1" },
      );
    }
    let body: string;
    this.#pending++;
    try {
      body = await this.#readBody(request);
    } catch (error) {
      if (error instanceof PushRefused) {
        return text(error.status, error.message);
      }
      throw error;
    } finally {
      this.#pending--;
    }
    // close() may have run while the body came.
    if (this.#closed) {
      return text(503, "Cannot push metrics: the push gateway is closed");
    }
    let parsed;
    try {
      parsed = parsePushText(body, {
        maxSeries: Math.min(this.#maxSeries, 1_000_000),
        maxLabelValueLength: this.#maxLabelValueLength,
        maxHelpLength: this.#maxHelpLength,
      });
    } catch (error) {
      if (!(error instanceof PushTextError)) throw error;
      return text(
        error.limit === undefined ? 400 : 413,
        `Cannot push metrics: ${error.message}`,
      );
    }
    this.#expire();
    try {
      this.#apply(labels, parsed, method === "PUT");
      return text(200, "");
    } catch (error) {
      if (!(error instanceof PushRefused)) throw error;
      if (error.failure) this.#recordFailure(labels);
      return text(error.status, error.message);
    }
  }

  /** Unregisters from the registry and drops every group. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unregister();
    this.#groups.clear();
    this.#uses.clear();
    this.#owners.clear();
    this.#index.clear();
    this.#series = 0;
    this.#bytes = 0;
  }

  /**
   * The group's final labels: the registry's default labels, overridden by
   * the grouping labels, and `instance=""` unless the grouping gives one.
   */
  #groupLabels(grouping: GroupingKey): GroupLabels {
    const limit = this.#maxLabelValueLength;
    for (let i = 0; i < grouping.labelNames.length; i++) {
      if (grouping.labelValues[i]!.length > limit) {
        throw new PushRefused(
          413,
          `Cannot push metrics: the value of grouping label "${
            grouping.labelNames[i]
          }" is longer than ${limit} characters (maxLabelValueLength)`,
          false,
        );
      }
    }
    const labels = new Map<string, string>();
    for (let i = 0; i < this.#defaultNames.length; i++) {
      labels.set(this.#defaultNames[i]!, this.#defaultValues[i]!);
    }
    for (let i = 0; i < grouping.labelNames.length; i++) {
      labels.set(grouping.labelNames[i]!, grouping.labelValues[i]!);
    }
    if (!grouping.labelNames.includes("instance")) labels.set("instance", "");
    const [labelNames, labelValues] = sorted(labels);
    return {
      key: renderPairs(labelNames, labelValues),
      labelNames,
      labelValues,
      pairs: nonEmptyPairs(labelNames, labelValues),
      grouping,
    };
  }

  async #readBody(request: Request): Promise<string> {
    const limit = this.#maxBodyBytes;
    const tooLarge = () =>
      new PushRefused(
        413,
        `Cannot push metrics: the body is larger than ${limit} bytes (maxBodyBytes)`,
        false,
      );
    const declared = Number(request.headers.get("content-length"));
    if (Number.isFinite(declared) && declared > limit) {
      await request.body?.cancel();
      throw tooLarge();
    }
    const encoding = (request.headers.get("content-encoding") ?? "identity")
      .trim().toLowerCase();
    if (encoding !== "identity" && encoding !== "" && encoding !== "gzip") {
      await request.body?.cancel();
      throw new PushRefused(
        415,
        `Cannot push metrics: content encoding "${encoding}" is not supported: use gzip or none`,
        false,
      );
    }
    if (request.body === null) return "";
    const stream: ReadableStream<Uint8Array> = encoding === "gzip"
      ? request.body.pipeThrough(
        new DecompressionStream("gzip") as unknown as ReadableWritablePair<
          Uint8Array,
          Uint8Array<ArrayBuffer>
        >,
      )
      : request.body;
    const chunks: Uint8Array[] = [];
    let size = 0;
    const reader = stream.getReader();
    const timeoutMs = this.#requestTimeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new PushRefused(
              408,
              `Cannot push metrics: the body did not arrive within ${timeoutMs} ms (requestTimeoutMs)`,
              false,
            ),
          ),
        timeoutMs,
      );
    });
    try {
      for (;;) {
        const { done, value } = await Promise.race([reader.read(), deadline]);
        if (done) break;
        size += value.byteLength;
        if (size > limit) throw tooLarge();
        chunks.push(value);
      }
    } catch (error) {
      await reader.cancel().catch((cancelError: unknown) => {
        // The stream may be errored already: the first error is reported.
        if (!(cancelError instanceof Error)) throw cancelError;
      });
      if (error instanceof PushRefused) throw error;
      if (!(error instanceof TypeError)) throw error;
      throw new PushRefused(
        400,
        `Cannot push metrics: the body cannot be read: ${error.message}`,
        false,
      );
    } finally {
      clearTimeout(timer);
      reader.releaseLock();
    }
    let bytes: Uint8Array;
    if (chunks.length === 1) bytes = chunks[0]!;
    else {
      bytes = new Uint8Array(size);
      let at = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, at);
        at += chunk.byteLength;
      }
    }
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
      throw new PushRefused(
        400,
        "Cannot push metrics: the body is not valid UTF-8",
        false,
      );
    }
  }

  /** Checks the push against the stored groups, then applies it whole. */
  #apply(
    labels: GroupLabels,
    parsed: readonly CollectedFamily[],
    replace: boolean,
  ): void {
    const existing = this.#groups.get(labels.key);
    // The families this push takes out of the group.
    const removed = new Map<string, StoredFamily>();
    if (existing !== undefined) {
      if (replace) {
        for (const family of existing.families.values()) {
          removed.set(family.name, family);
        }
      } else {
        for (const family of parsed) {
          const old = existing.families.get(family.name);
          if (old !== undefined) removed.set(family.name, old);
        }
      }
    }
    // Limits first: they are not the pusher's inconsistency.
    if (existing === undefined && this.#groups.size >= this.#maxGroups) {
      throw new PushRefused(
        413,
        `Cannot push metrics: the push gateway holds ${this.#maxGroups} groups (maxGroups)`,
        false,
      );
    }
    let added = 0;
    for (const family of parsed) {
      if (family.name !== PUSH_TIME && family.name !== PUSH_FAILURE_TIME) {
        added += family.samples.length;
      }
    }
    let freed = 0;
    let freedBytes = 0;
    for (const family of removed.values()) {
      freed += family.samples.length;
      freedBytes += family.bytes;
    }
    if (this.#series - freed + added > this.#maxSeries) {
      throw new PushRefused(
        413,
        `Cannot push metrics: the push gateway would hold more than ${this.#maxSeries} series (maxSeries)`,
        false,
      );
    }

    const families: StoredFamily[] = [];
    const claimed = new Map<string, string>();
    const keys = new Set<string>();
    const leaving = new Set<StoredFamily>(removed.values());
    let addedBytes = 0;
    for (const family of parsed) {
      // Pushgateway overwrites these with its own.
      if (family.name === PUSH_TIME || family.name === PUSH_FAILURE_TIME) {
        continue;
      }
      const names = collectedNames(family.name, family.type);
      for (const name of names) {
        if (this.#registry.hasName(name)) {
          throw new PushRefused(
            400,
            `Cannot push metrics: metric "${family.name}" clashes with "${name}", which the registry exposes already`,
            true,
          );
        }
        const owner = claimed.get(name) ?? this.#ownerBesides(name, removed);
        if (owner !== undefined && owner !== family.name) {
          throw new PushRefused(
            400,
            `Cannot push metrics: metric "${family.name}" clashes with the samples of metric "${owner}"`,
            true,
          );
        }
        claimed.set(name, family.name);
      }
      const use = this.#uses.get(family.name);
      const others = use === undefined
        ? 0
        : use.refs - (removed.has(family.name) ? 1 : 0);
      if (use !== undefined && others > 0 && use.type !== family.type) {
        throw new PushRefused(
          400,
          `Cannot push metrics: metric "${family.name}" is pushed as ${family.type} but other groups push it as ${use.type}`,
          true,
        );
      }
      const stored = this.#sanitize(family, labels);
      // The final label sets, as rendered, must be unique in the body and
      // across groups (Pushgateway: "collected before with the same name
      // and label values").
      for (const key of stored.keys) {
        const holder = this.#index.get(key);
        if (keys.has(key) || (holder !== undefined && !leaving.has(holder))) {
          throw new PushRefused(
            400,
            `Cannot push metrics: metric "${family.name}" has sample ${key} ${
              keys.has(key)
                ? "twice once the grouping and default labels apply"
                : "which another group pushed already"
            }`,
            true,
          );
        }
        keys.add(key);
      }
      addedBytes += stored.bytes;
      families.push(stored);
    }
    if (this.#bytes - freedBytes + addedBytes > this.#maxBytes) {
      throw new PushRefused(
        413,
        `Cannot push metrics: the push gateway would hold more than ${this.#maxBytes} bytes (maxBytes)`,
        false,
      );
    }

    // Apply: nothing above changed any state.
    const now = this.#now();
    const group = existing ?? newGroup(labels, now);
    for (const family of removed.values()) this.#remove(group, family);
    for (const family of families) this.#add(group, family);
    group.pushTime = now / 1000;
    this.#touch(group, now);
  }

  /**
   * The family with its final label sets: the registry's default labels,
   * overridden by the body's labels, overridden by the grouping labels,
   * and `instance=""` where none gives one; sorted by name as Pushgateway
   * writes them. The registry then adds nothing at render, so what is
   * checked here is what is served. Keys leave out empty values.
   */
  #sanitize(family: CollectedFamily, group: GroupLabels): StoredFamily {
    const groupNames = group.grouping.labelNames;
    // Pushgateway parses these and writes them back as Go does.
    const bound = family.type === "histogram"
      ? "le"
      : family.type === "summary"
      ? "quantile"
      : undefined;
    const samples: CollectedSample[] = [];
    const keys: string[] = [];
    let bytes = FAMILY_BYTES + 2 * (family.help?.length ?? 0);
    for (const sample of family.samples) {
      let labelNames = group.labelNames;
      let labelValues = group.labelValues;
      let pairs = group.pairs;
      let given = false;
      for (let i = 0; i < sample.labelNames.length; i++) {
        if (!groupNames.includes(sample.labelNames[i]!)) {
          given = true;
          break;
        }
      }
      if (given) {
        const labels = new Map<string, string>();
        for (let i = 0; i < this.#defaultNames.length; i++) {
          labels.set(this.#defaultNames[i]!, this.#defaultValues[i]!);
        }
        let instance = groupNames.includes("instance");
        for (let i = 0; i < sample.labelNames.length; i++) {
          const name = sample.labelNames[i]!;
          let value = sample.labelValues[i]!;
          if (groupNames.includes(name)) continue;
          if (name === bound) value = goFloat(parseBound(value));
          labels.set(name, value);
          if (name === "instance") instance = true;
        }
        const grouping = group.grouping;
        for (let i = 0; i < groupNames.length; i++) {
          labels.set(groupNames[i]!, grouping.labelValues[i]!);
        }
        // Pushgateway adds instance="" where neither gives one.
        if (!instance) labels.set("instance", "");
        [labelNames, labelValues] = sorted(labels);
        pairs = nonEmptyPairs(labelNames, labelValues);
      }
      const key = `${sample.name}{${pairs}}`;
      bytes += SERIES_BYTES + 4 * key.length;
      keys.push(key);
      samples.push({
        name: sample.name,
        labelNames,
        labelValues,
        value: sample.value,
      });
    }
    return {
      name: family.name,
      type: family.type,
      help: family.help,
      samples,
      keys,
      bytes,
    };
  }

  /** The family that writes `name`, unless only `removed` families do. */
  #ownerBesides(
    name: string,
    removed: ReadonlyMap<string, StoredFamily>,
  ): string | undefined {
    const owner = this.#owners.get(name);
    if (owner === undefined) return undefined;
    if (removed.has(owner) && this.#uses.get(owner)!.refs === 1) {
      return undefined;
    }
    return owner;
  }

  #add(group: Group, family: StoredFamily): void {
    group.families.set(family.name, family);
    group.series += family.samples.length;
    this.#series += family.samples.length;
    this.#bytes += family.bytes;
    for (const key of family.keys) this.#index.set(key, family);
    const use = this.#uses.get(family.name);
    if (use !== undefined) {
      use.refs++;
      return;
    }
    this.#uses.set(family.name, { type: family.type, refs: 1 });
    for (const name of collectedNames(family.name, family.type)) {
      this.#owners.set(name, family.name);
    }
  }

  #remove(group: Group, family: StoredFamily): void {
    group.families.delete(family.name);
    group.series -= family.samples.length;
    this.#series -= family.samples.length;
    this.#bytes -= family.bytes;
    for (const key of family.keys) {
      if (this.#index.get(key) === family) this.#index.delete(key);
    }
    const use = this.#uses.get(family.name)!;
    if (--use.refs > 0) return;
    this.#uses.delete(family.name);
    for (const name of collectedNames(family.name, use.type)) {
      if (this.#owners.get(name) === family.name) this.#owners.delete(name);
    }
  }

  #drop(group: Group): void {
    for (const family of [...group.families.values()]) {
      this.#remove(group, family);
    }
    this.#groups.delete(group.key);
  }

  /** Moves the group to the end of the map: the map is in touch order. */
  #touch(group: Group, now: number): void {
    group.touched = now;
    this.#groups.delete(group.key);
    this.#groups.set(group.key, group);
  }

  #recordFailure(labels: GroupLabels): void {
    const now = this.#now();
    let group = this.#groups.get(labels.key);
    if (group === undefined) {
      if (this.#groups.size >= this.#maxGroups) return;
      group = newGroup(labels, now);
    }
    group.failureTime = now / 1000;
    this.#touch(group, now);
  }

  #expire(): void {
    const ttl = this.#ttlMs;
    if (ttl === undefined) return;
    const now = this.#now();
    for (const group of this.#groups.values()) {
      if (now - group.touched < ttl) break;
      this.#drop(group);
    }
  }
}

/** The estimated bytes of a family besides its series. */
const FAMILY_BYTES = 160;
/** The estimated bytes of a series besides 4 per character of its key. */
const SERIES_BYTES = 96;

function newGroup(labels: GroupLabels, now: number): Group {
  return {
    key: labels.key,
    labelNames: labels.labelNames,
    labelValues: labels.labelValues,
    families: new Map(),
    series: 0,
    pushTime: 0,
    failureTime: 0,
    touched: now,
  };
}

/** A bound the parser checked: a decimal or Go's `Inf`/`NaN` words. */
function parseBound(text: string): number {
  const lower = text.toLowerCase();
  if (lower.includes("inf")) {
    return lower.startsWith("-") ? -Infinity : Infinity;
  }
  if (lower.includes("nan")) return NaN;
  return Number(text);
}

/**
 * `value` as Go's `strconv.FormatFloat(value, 'g', -1, 64)` writes it, as
 * Pushgateway serves `le` and `quantile`: `1`, `0.25`, `1e+06`, `+Inf`.
 */
function goFloat(value: number): string {
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  if (Number.isNaN(value)) return "NaN";
  if (value === 0) return Object.is(value, -0) ? "-0" : "0";
  const exponential = value.toExponential();
  const at = exponential.indexOf("e");
  const exponent = Number(exponential.slice(at + 1));
  if (exponent >= -4 && exponent < 6) return String(value);
  const digits = Math.abs(exponent) < 10 ? `0${Math.abs(exponent)}` : String(
    Math.abs(exponent),
  );
  return `${exponential.slice(0, at)}e${exponent < 0 ? "-" : "+"}${digits}`;
}

/**
 * The pairs with a value, rendered: a series' identity, as Prometheus
 * stores `x{a=""}` and `x` as one series.
 */
function nonEmptyPairs(
  names: readonly string[],
  values: readonly string[],
): string {
  if (!values.includes("")) return renderPairs(names, values);
  const kept = names.filter((_, i) => values[i] !== "");
  return renderPairs(kept, values.filter((value) => value !== ""));
}

/** The labels' names and values, sorted by name. */
function sorted(labels: ReadonlyMap<string, string>): [string[], string[]] {
  const names = [...labels.keys()].sort();
  return [names, names.map((name) => labels.get(name)!)];
}
