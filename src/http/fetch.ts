import type { Counter } from "../metrics/counter.ts";
import type { Histogram } from "../metrics/histogram.ts";
import type { Registry } from "../metrics/registry.ts";
import { methodLabel } from "./_request.ts";

/** The host label of a host outside the allow list. */
export const OTHER_HOST = "other";

/** The metrics {@linkcode instrumentFetch} records. */
export interface HttpClientMetrics {
  /** `http_client_requests_total{host,method,status}`. */
  readonly requests: Counter<"host" | "method" | "status">;
  /** `http_client_request_duration_seconds{host,method}`. */
  readonly duration: Histogram<"host" | "method">;
}

/** A function called as `fetch` is. */
export type Fetch = (
  input: string | URL | Request,
  init?: RequestInit,
) => Promise<Response>;

/**
 * Registers the outbound HTTP metrics once, to share between several
 * instrumented `fetch` functions of one registry.
 *
 * @param registry Where the metrics live.
 * @param buckets Latency buckets in seconds.
 * @returns The metrics.
 * @throws {DuplicateMetricError} When the registry has them already.
 *
 * @example Two clients, one set of metrics
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { httpClientMetrics, instrumentFetch } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const metrics = httpClientMetrics(registry, [0.05, 0.5, 5]);
 * const payments = instrumentFetch(fetch, { metrics, hosts: ["pay.example"] });
 * const search = instrumentFetch(fetch, { metrics, hosts: ["search.example"] });
 * assert.notEqual(payments, search);
 * assert.match(
 *   await registry.metrics(),
 *   /^# TYPE http_client_request_duration_seconds histogram$/m,
 * );
 * await registry.close();
 * ```
 */
export function httpClientMetrics(
  registry: Registry,
  buckets?: readonly number[],
): HttpClientMetrics {
  return {
    requests: registry.counter({
      name: "http_client_requests_total",
      help:
        'Outbound HTTP requests, by host, method and status ("error" when no response came)',
      labelNames: ["host", "method", "status"],
    }),
    duration: registry.histogram({
      name: "http_client_request_duration_seconds",
      help:
        "Time until the response headers arrived or the request failed, in seconds",
      labelNames: ["host", "method"],
      ...(buckets === undefined ? {} : { buckets }),
    }),
  };
}

/** Options of {@linkcode instrumentFetch}. */
export interface InstrumentFetchOptions {
  /** The registry to record into, or metrics from {@linkcode httpClientMetrics}. */
  metrics: Registry | HttpClientMetrics;
  /**
   * The hosts kept as `host` label values, as `hostname` (any port) or
   * `hostname:port` (the port a URL names or its scheme's default:
   * `api.example.com:443` matches `https://api.example.com/`), with no
   * scheme or path; a bare IPv6 address (`::1`) is taken as `[::1]`. Host
   * names compare as URLs canonicalise them (lower case, IPv6 compressed
   * and bracketed), and the label is that canonical entry. Every other
   * host is `"other"`, so the label stays bounded whatever URLs the
   * application fetches.
   * @default {[] (every host is "other")}
   */
  hosts?: readonly string[];
}

/**
 * Wraps `fetch` so that every outbound request is measured:
 * `http_client_requests_total{host,method,status}` and
 * `http_client_request_duration_seconds{host,method}`, the time until the
 * response headers arrived. A request that gets no response (refused
 * connection, DNS failure, abort) is counted with status `"error"` and its
 * error re-thrown. Methods outside the standard ones are `OTHER`, hosts
 * outside `hosts` are `"other"`. A `Request` whose body was already read is
 * a bug of the caller, not an outbound call: it is handed to `fetch`
 * unmeasured, which rejects it.
 *
 * @param fetch The function to wrap, such as `globalThis.fetch`.
 * @param options The registry (or metrics) and the hosts to keep.
 * @returns A function called as `fetch` is.
 * @throws {TypeError} When an entry of `hosts` is not a host or `host:port`.
 *
 * @example Measure calls to one API
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { instrumentFetch } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const api = instrumentFetch(
 *   () => Promise.resolve(new Response("ok", { status: 201 })),
 *   { metrics: registry, hosts: ["api.example.com"] },
 * );
 * await (await api("https://api.example.com/orders", { method: "POST" }))
 *   .body?.cancel();
 * await (await api("https://elsewhere.example/")).body?.cancel();
 * const text = await registry.metrics();
 * assert.match(
 *   text,
 *   /^http_client_requests_total\{host="api.example.com",method="POST",status="201"\} 1$/m,
 * );
 * assert.match(
 *   text,
 *   /^http_client_requests_total\{host="other",method="GET",status="201"\} 1$/m,
 * );
 * await registry.close();
 * ```
 */
export function instrumentFetch(
  fetch: Fetch,
  options: InstrumentFetchOptions,
): Fetch {
  const hosts = allowList(options.hosts ?? []);
  const metrics = "requests" in options.metrics
    ? options.metrics
    : httpClientMetrics(options.metrics);
  const hostLabel = (input: string | URL | Request): string => {
    const href = typeof input === "string"
      ? input
      : input instanceof URL
      ? input.href
      : input.url;
    // Only absolute URLs are parsed; a relative one is "other".
    if (!URL.canParse(href)) return OTHER_HOST;
    const url = new URL(href);
    const port = url.port === "" ? DEFAULT_PORTS[url.protocol] : url.port;
    return hosts.get(`${url.hostname}:${port}`) ??
      hosts.get(url.hostname) ?? OTHER_HOST;
  };
  return async (input, init) => {
    // A caller's bug, not an outbound call: fetch rejects it, uncounted.
    if (input instanceof Request && input.bodyUsed) return fetch(input, init);
    const host = hostLabel(input);
    const method = methodLabel(
      init?.method ?? (input instanceof Request ? input.method : "GET"),
    );
    const start = performance.now();
    // Stays "error" when fetch rejects; the rejection propagates.
    let status = "error";
    try {
      const response = await fetch(input, init);
      status = String(response.status);
      return response;
    } finally {
      const seconds = (performance.now() - start) / 1000;
      metrics.duration.labels({ host, method }).observeWithTrace(seconds);
      metrics.requests.labels({ host, method, status }).inc();
    }
  };
}

/** The port a URL without one uses, by scheme. */
const DEFAULT_PORTS: Readonly<Record<string, string>> = {
  "http:": "80",
  "https:": "443",
  "ws:": "80",
  "wss:": "443",
};

/**
 * The allow list as canonical keys (`hostname` or `hostname:port`, lower
 * case, IPv6 in brackets), each its own label value; a port stays as
 * written (`api.example.com:443`), since it is matched against the port a
 * URL names or its scheme's default.
 */
function allowList(entries: readonly string[]): Map<string, string> {
  const hosts = new Map<string, string>();
  for (const entry of entries) {
    if (typeof entry !== "string" || entry === "") {
      throw new TypeError(
        `Cannot instrument fetch: hosts must hold non-empty strings, got ${
          JSON.stringify(entry)
        }`,
      );
    }
    // A bare IPv6 address (`::1`) gets its brackets.
    const host = entry.indexOf(":") !== entry.lastIndexOf(":") &&
        !entry.startsWith("[")
      ? `[${entry}]`
      : entry;
    const url = URL.canParse(`http://${host}`)
      ? new URL(`http://${host}`)
      : undefined;
    if (
      url === undefined || entry.includes("/") || url.username !== "" ||
      url.password !== "" || url.search !== "" || url.hash !== ""
    ) {
      throw new TypeError(
        `Cannot instrument fetch: hosts must hold a host or host:port, got ${
          JSON.stringify(entry)
        }`,
      );
    }
    // `new URL` drops an explicit :80 of http: keep the port as written.
    const port = /:(\d+)$/.exec(host)?.[1];
    const key = port === undefined
      ? url.hostname
      : `${url.hostname}:${Number(port)}`;
    hosts.set(key, key);
  }
  return hosts;
}
