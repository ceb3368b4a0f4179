/**
 * Prometheus alerting and recording rules generated from the metric
 * families a registry holds, with `promtool test rules` cases for them.
 *
 * @example Write the rules and their tests
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { generateAlertRules } from "@vigil/observe/alerts";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * const { rules, tests } = await generateAlertRules(registry);
 * assert.match(rules, /alert: ServiceDown/);
 * assert.match(tests, /rule_files:/);
 * await registry.close();
 * ```
 *
 * @module
 */
export {
  ALERT_DEFAULTS,
  type AlertRuleOptions,
  type AlertRules,
  type AlertThresholds,
  buildAlertRules,
  checkAlertThresholds,
  DEFAULT_RUNBOOK_BASE,
  generateAlertRules,
  registeredFamilies,
  Severity,
} from "./rules.ts";
export {
  generateSloRules,
  type Slo,
  SLO_RATE_WINDOWS,
  SloKind,
  type SloOptions,
  type SloRules,
} from "./slo.ts";
