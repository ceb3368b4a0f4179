/** A path the Vigil server answers. */
export type Route =
  | "/metrics"
  | "/health"
  | "/health/detailed"
  | "/health/live"
  | "/health/ready"
  | "/system/info";

/** One route of the Vigil server, as {@linkcode ROUTE_TABLE} lists it. */
export interface RouteInfo {
  /** The path. */
  readonly path: Route;
  /** What it answers, in a few words. */
  readonly summary: string;
  /** Whether it needs the configured credentials. */
  readonly protected: boolean;
  /** Whether the server's own HTTP metrics count its requests. */
  readonly measured: boolean;
}

/**
 * The routes of the Vigil server, written once: the server routes them,
 * the config checks aliases against them, the CLI lists them.
 */
export const ROUTE_TABLE: readonly RouteInfo[] = Object.freeze([
  {
    path: "/metrics",
    summary: "every metric, Prometheus 0.0.4 or OpenMetrics 1.0",
    protected: true,
    measured: true,
  },
  {
    path: "/health",
    summary: "overall status",
    protected: false,
    measured: true,
  },
  {
    path: "/health/detailed",
    summary: "every check, system figures, request latency",
    protected: true,
    measured: true,
  },
  {
    path: "/health/live",
    summary: "liveness probe",
    protected: false,
    // Probes are not measured: the kubelet's polling is not the service's
    // traffic, and a probe should cost as little as the server allows.
    measured: false,
  },
  {
    path: "/health/ready",
    summary: "readiness probe",
    protected: false,
    measured: false,
  },
  {
    path: "/system/info",
    summary: "versions, workers, configuration (secrets masked)",
    protected: true,
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

/** Routes left out of the server's own HTTP metrics. */
export const UNMEASURED_ROUTES: ReadonlySet<string> = new Set<string>(
  ROUTE_TABLE.filter((route) => !route.measured).map((route) => route.path),
);
