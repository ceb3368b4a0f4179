/**
 * The paths the Vigil server answers. Config aliases must name one of them;
 * the server routes exactly these.
 */
export const ROUTES = [
  "/metrics",
  "/health",
  "/health/detailed",
  "/health/live",
  "/health/ready",
  "/system/info",
] as const;

/** One of {@linkcode ROUTES}. */
export type Route = typeof ROUTES[number];

/** Routes that need credentials when auth is configured; probes never do. */
export const PROTECTED_ROUTES: ReadonlySet<string> = new Set<Route>([
  "/metrics",
  "/health/detailed",
  "/system/info",
]);
