/** A path the Vigil server answers. */
export type Route =
  | "/metrics"
  | "/health"
  | "/health/detailed"
  | "/health/live"
  | "/health/ready"
  | "/system/info"
  | "/drift/status"
  | "/drift/update"
  | "/drift/reset";

/** One route of the Vigil server, as {@linkcode ROUTE_TABLE} lists it. */
export interface RouteInfo {
  /** The path. */
  readonly path: Route;
  /** What it answers, in a few words. */
  readonly summary: string;
  /** The methods it answers; any other gets 405. */
  readonly methods: readonly string[];
  /** Whether it needs the configured credentials. */
  readonly protected: boolean;
  /**
   * Whether it changes state: it needs the write token when one is set,
   * and is refused unless the server listens on loopback when none is.
   */
  readonly write: boolean;
  /** Whether the server's own HTTP metrics count its requests. */
  readonly measured: boolean;
}

/** What the read routes answer: `HEAD` gets the headers of a `GET`. */
const READ: readonly string[] = Object.freeze(["GET", "HEAD"]);

/**
 * The routes of the Vigil server, written once: the server routes them,
 * the config checks aliases against them, the CLI lists them.
 */
export const ROUTE_TABLE: readonly RouteInfo[] = Object.freeze([
  {
    path: "/metrics",
    summary: "every metric, Prometheus 0.0.4 or OpenMetrics 1.0",
    methods: READ,
    protected: true,
    write: false,
    measured: true,
  },
  {
    path: "/health",
    summary: "overall status",
    methods: READ,
    protected: false,
    write: false,
    measured: true,
  },
  {
    path: "/health/detailed",
    summary: "every check, system figures, request latency",
    methods: READ,
    protected: true,
    write: false,
    measured: true,
  },
  {
    path: "/health/live",
    summary: "liveness probe",
    methods: READ,
    protected: false,
    write: false,
    // Probes are not measured: the kubelet's polling is not the service's
    // traffic, and a probe should cost as little as the server allows.
    measured: false,
  },
  {
    path: "/health/ready",
    summary: "readiness probe",
    methods: READ,
    protected: false,
    write: false,
    measured: false,
  },
  {
    path: "/system/info",
    summary: "versions, workers, configuration (secrets masked)",
    methods: READ,
    protected: true,
    write: false,
    measured: true,
  },
  {
    path: "/drift/status",
    summary: "models: predictions, quality, detectors",
    methods: READ,
    protected: true,
    write: false,
    measured: true,
  },
  {
    path: "/drift/update",
    summary: "POST: record predictions and outcomes",
    methods: ["POST"],
    protected: false,
    write: true,
    measured: true,
  },
  {
    path: "/drift/reset",
    summary: "POST: restart drift detectors",
    methods: ["POST"],
    protected: false,
    write: true,
    measured: true,
  },
]);

/** The paths the Vigil server answers; config aliases must name one. */
export const ROUTES: readonly Route[] = Object.freeze(
  ROUTE_TABLE.map((route) => route.path),
);

/** Routes that need credentials when auth is configured; probes never do. */
export const PROTECTED_ROUTES: ReadonlySet<string> = new Set<string>(
  ROUTE_TABLE.filter((route) => route.protected).map((route) => route.path),
);

/** Routes that change state: the drift API's write token guards them. */
export const WRITE_ROUTES: ReadonlySet<string> = new Set<string>(
  ROUTE_TABLE.filter((route) => route.write).map((route) => route.path),
);

/** Routes left out of the server's own HTTP metrics. */
export const UNMEASURED_ROUTES: ReadonlySet<string> = new Set<string>(
  ROUTE_TABLE.filter((route) => !route.measured).map((route) => route.path),
);
