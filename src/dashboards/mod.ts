/**
 * Grafana dashboards generated from a registry's metrics.
 *
 * @module
 */
export {
  type DashboardJson,
  type DashboardOptions,
  type DashboardSlo,
  dashboardUid,
  generateDashboards,
  type MetricFamily,
  type MetricsSource,
  parseFamilies,
  SCHEMA_VERSION,
} from "./dashboards.ts";
