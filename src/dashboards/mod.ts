/**
 * Grafana dashboards generated from a registry's metrics.
 *
 * @module
 */
export {
  type DashboardJson,
  type DashboardOptions,
  dashboardUid,
  generateDashboards,
  type MetricFamily,
  type MetricsSource,
  parseFamilies,
  SCHEMA_VERSION,
} from "./dashboards.ts";
