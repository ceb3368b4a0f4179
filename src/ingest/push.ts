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
 *   every sample; a sample without `instance` gets `instance=""`.
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
 * - Memory is bounded: `maxBodyBytes`, `maxSeries` and `maxGroups` are
 *   answered 413 naming the limit, and change nothing.
 * - Protobuf bodies (`application/vnd.google.protobuf`) are answered 415:
 *   every client library also pushes text.
 * - A sample with a timestamp is a parse error (no failure time set);
 *   Pushgateway refuses it too, but records a failure time.
 * - The grouping path is stricter (see `grouping.ts`).
 * - Authentication is the caller's: the server wraps write routes.
 *
 * @module
 */
import type { Registry } from "../metrics/registry.ts";
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
}

interface Group {
  readonly key: string;
  /** Grouping labels and `instance`, sorted. */
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
  readonly #registry: Registry;
  readonly #ttlMs: number | undefined;
  readonly #maxGroups: number;
  readonly #maxSeries: number;
  readonly #maxBodyBytes: number;
  readonly #now: () => number;
  readonly #unregister: () => boolean;
  #series = 0;
  #closed = false;

  /**
   * Creates the gateway and registers it with `registry`.
   *
   * @param registry Where the groups are exposed.
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
    this.#maxGroups = positiveInteger(
      "maxGroups",
      options.maxGroups,
      PUSH_GATEWAY_DEFAULTS.maxGroups,
    );
    this.#maxSeries = positiveInteger(
      "maxSeries",
      options.maxSeries,
      PUSH_GATEWAY_DEFAULTS.maxSeries,
    );
    this.#maxBodyBytes = positiveInteger(
      "maxBodyBytes",
      options.maxBodyBytes,
      PUSH_GATEWAY_DEFAULTS.maxBodyBytes,
    );
    this.#now = options.now ?? Date.now;
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
    const merged = new Map<string, StoredFamily>();
    const pushTimes: CollectedSample[] = [];
    const failureTimes: CollectedSample[] = [];
    for (const group of this.#groups.values()) {
      for (const family of group.families.values()) {
        const found = merged.get(family.name);
        if (found === undefined) {
          merged.set(family.name, {
            ...family,
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
   *   inconsistent metrics, naming the cause), 405, 413 (a limit, named),
   *   415 (protobuf or an unknown encoding) or 503 (closed).
   */
  async handle(request: Request, path: string): Promise<Response> {
    const method = request.method;
    if (method !== "PUT" && method !== "POST" && method !== "DELETE") {
      return text(405, `Cannot push metrics: method ${method} is not allowed`, {
        allow: "PUT, POST, DELETE",
      });
    }
    if (this.#closed) {
      return text(503, "Cannot push metrics: the push gateway is closed");
    }
    let grouping: GroupingKey;
    try {
      grouping = parseGroupingPath(path);
    } catch (error) {
      if (!(error instanceof GroupingKeyError)) throw error;
      return text(400, error.message);
    }
    this.#expire();
    if (method === "DELETE") {
      const group = this.#groups.get(grouping.key);
      if (group !== undefined) this.#drop(group);
      return text(202, "");
    }
    const contentType = request.headers.get("content-type") ?? "";
    if (/^\s*application\/vnd\.google\.protobuf/i.test(contentType)) {
      return text(
        415,
        "Cannot push metrics: protobuf bodies are not supported: push text format 0.0.4 (text/plain; version=0.0.4)",
      );
    }
    let body: string;
    try {
      body = await this.#readBody(request);
    } catch (error) {
      if (error instanceof PushRefused) {
        return text(error.status, error.message);
      }
      throw error;
    }
    let parsed;
    try {
      parsed = parsePushText(body, {
        maxSeries: Math.min(this.#maxSeries, 1_000_000),
      });
    } catch (error) {
      if (!(error instanceof PushTextError)) throw error;
      return text(
        error.limit === undefined ? 400 : 413,
        `Cannot push metrics: ${error.message}`,
      );
    }
    try {
      this.#apply(grouping, parsed, method === "PUT");
      return text(200, "");
    } catch (error) {
      if (!(error instanceof PushRefused)) throw error;
      if (error.failure) this.#recordFailure(grouping);
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
    this.#series = 0;
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
    if (Number.isFinite(declared) && declared > limit) throw tooLarge();
    const encoding = (request.headers.get("content-encoding") ?? "identity")
      .trim().toLowerCase();
    if (encoding !== "identity" && encoding !== "" && encoding !== "gzip") {
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
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > limit) {
          await reader.cancel();
          throw tooLarge();
        }
        chunks.push(value);
      }
    } catch (error) {
      if (error instanceof PushRefused) throw error;
      if (!(error instanceof TypeError)) throw error;
      throw new PushRefused(
        400,
        `Cannot push metrics: the body cannot be read: ${error.message}`,
        false,
      );
    } finally {
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
    grouping: GroupingKey,
    parsed: readonly CollectedFamily[],
    replace: boolean,
  ): void {
    const existing = this.#groups.get(grouping.key);
    const [labelNames, labelValues] = groupLabels(grouping);
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
    for (const family of removed.values()) freed += family.samples.length;
    if (this.#series - freed + added > this.#maxSeries) {
      throw new PushRefused(
        413,
        `Cannot push metrics: the push gateway would hold more than ${this.#maxSeries} series (maxSeries)`,
        false,
      );
    }

    const families: StoredFamily[] = [];
    const claimed = new Map<string, string>();
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
      families.push(sanitize(family, grouping, labelNames, labelValues));
    }

    // Apply: nothing above changed any state.
    const now = this.#now();
    let group = existing;
    if (group === undefined) {
      group = {
        key: grouping.key,
        labelNames,
        labelValues,
        families: new Map(),
        series: 0,
        pushTime: 0,
        failureTime: 0,
        touched: now,
      };
    }
    for (const family of removed.values()) this.#remove(group, family);
    for (const family of families) this.#add(group, family);
    group.pushTime = now / 1000;
    this.#touch(group, now);
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

  #recordFailure(grouping: GroupingKey): void {
    const now = this.#now();
    let group = this.#groups.get(grouping.key);
    if (group === undefined) {
      if (this.#groups.size >= this.#maxGroups) return;
      const [labelNames, labelValues] = groupLabels(grouping);
      group = {
        key: grouping.key,
        labelNames,
        labelValues,
        families: new Map(),
        series: 0,
        pushTime: 0,
        failureTime: 0,
        touched: now,
      };
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

/** The grouping labels with `instance=""` unless given, sorted. */
function groupLabels(grouping: GroupingKey): [string[], string[]] {
  const names = grouping.labelNames.slice();
  const values = grouping.labelValues.slice();
  if (!names.includes("instance")) {
    let at = 0;
    while (at < names.length && names[at]! < "instance") at++;
    names.splice(at, 0, "instance");
    values.splice(at, 0, "");
  }
  return [names, values];
}

/**
 * The family with the grouping labels set on every sample (overriding the
 * body's), labels sorted by name as Pushgateway writes them.
 *
 * @throws {PushRefused} When two samples end up with the same labels.
 */
function sanitize(
  family: CollectedFamily,
  grouping: GroupingKey,
  withInstanceNames: readonly string[],
  withInstanceValues: readonly string[],
): StoredFamily {
  const groupNames = grouping.labelNames;
  const groupValues = grouping.labelValues;
  const instanceGiven = groupNames.includes("instance");
  const samples: CollectedSample[] = [];
  const seen = new Set<string>();
  const check = family.samples.some((sample) =>
    sample.labelNames.some((name) => groupNames.includes(name))
  );
  for (const sample of family.samples) {
    let labelNames: readonly string[] = withInstanceNames;
    let labelValues: readonly string[] = withInstanceValues;
    if (sample.labelNames.length > 0) {
      const pairs: [string, string][] = [];
      for (let i = 0; i < sample.labelNames.length; i++) {
        const name = sample.labelNames[i]!;
        if (!groupNames.includes(name)) {
          pairs.push([name, sample.labelValues[i]!]);
        }
      }
      for (let i = 0; i < groupNames.length; i++) {
        pairs.push([groupNames[i]!, groupValues[i]!]);
      }
      // Pushgateway adds instance="" where neither gives one.
      if (!instanceGiven && !sample.labelNames.includes("instance")) {
        pairs.push(["instance", ""]);
      }
      pairs.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
      labelNames = pairs.map((pair) => pair[0]);
      labelValues = pairs.map((pair) => pair[1]);
    }
    if (check) {
      // Overridden labels can make two series one.
      const key = `${sample.name}\u0000${labelValues.join("\u0000")}\u0000${
        labelNames.join("\u0000")
      }`;
      if (seen.has(key)) {
        throw new PushRefused(
          400,
          `Cannot push metrics: metric "${sample.name}" has two samples with the same labels once the grouping labels apply`,
          true,
        );
      }
      seen.add(key);
    }
    samples.push({
      name: sample.name,
      labelNames,
      labelValues,
      value: sample.value,
    });
  }
  return { name: family.name, type: family.type, help: family.help, samples };
}
