// End to end: a Vigil server, Debian's Prometheus (scrape and evaluation every
// second, the generated rules loaded) and Alertmanager (routing to a webhook
// the test serves), all on 127.0.0.1 with free ports and temporary
// directories. Traffic, errors and a drift go through the public APIs; the
// assertions go through Prometheus's HTTP API and the webhook.
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { alertmanagerConfig } from "../../src/generate.ts";
import { E2E_KITS, KIT_ALERTS, MAIN_ALERTS, startKits } from "./_kits.ts";
import { defaultConfig } from "../../src/config/mod.ts";
import { startVigil } from "../../src/app.ts";
import {
  generateAlertRules,
  generateSloRules,
  type Slo,
} from "../../src/alerts/mod.ts";
import { generateDashboards } from "../../src/dashboards/mod.ts";
import { instrument } from "../../src/http/instrument.ts";
import {
  ignoreWithout,
  ignoreWithoutPromtool,
  recordingLogger,
} from "../_tools.ts";

const BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Families this test does not exercise: their panels may stay empty. */
const NOT_EXERCISED =
  /http_request_errors_total|vigil_model_predictions_refused_total|ml_training_|ml_last_training|ml_prediction_duration_seconds|vigil_drift_subscriber_errors_total|vigil_cardinality_overflow_total|vigil_collect_errors_total|vigil_values_refused_total/;

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` every 250 ms until it returns a value, for at most `ms`. */
async function until<T>(
  what: string,
  ms: number,
  probe: () => Promise<T | undefined>,
): Promise<T> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(250);
  }
  throw new Error(`Timed out after ${ms} ms waiting for ${what}`);
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** The index of the bucket a value falls in (upper bounds inclusive). */
function bucketOf(value: number): number {
  const i = BUCKETS.findIndex((le) => value <= le);
  return i < 0 ? BUCKETS.length : i;
}

const SLOS: readonly Slo[] = [
  { name: "api-availability", kind: "availability", objective: 99.9 },
  { name: "api-latency", kind: "latency", objective: 99, threshold: 0.25 },
];

Deno.test({
  name:
    "Vigil, Prometheus and Alertmanager: scrapes, rules, dashboard queries and alerts end to end",
  ignore: await ignoreWithoutPromtool() ||
    await ignoreWithout(
      "prometheus-alertmanager",
      "apt-get install prometheus-alertmanager",
    ),
  fn: async () => {
    const logger = recordingLogger();
    const base = defaultConfig();
    const app = startVigil({
      ...base,
      server: {
        ...base.server,
        hostname: "127.0.0.1",
        port: 0,
        drainDelayMs: 0,
      },
      metrics: { ...base.metrics, buckets: BUCKETS },
      drift: {
        ...base.drift,
        models: [{
          name: "fraud",
          classes: [0, 1],
          detectors: [{ kind: "ddm" }],
        }],
      },
      logging: {
        ...base.logging,
        file: { ...base.logging.file, directory: "" },
      },
      errors: { ...base.errors, sentryDsn: "" },
    }, { logger, onListen: () => {} });
    const vigil = `http://127.0.0.1:${app.server.addr.port}`;

    // A route that answers what it is told, instrumented into the same
    // metrics, since the built-in server has no erroring route.
    const api = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      instrument(async (request) => {
        const url = new URL(request.url);
        await sleep(Number(url.searchParams.get("ms") ?? 0));
        return new Response("ok", {
          status: Number(url.searchParams.get("status") ?? 200),
        });
      }, { metrics: app.http, routes: ["/api/pay"], logger }),
    );
    const apiBase = `http://127.0.0.1:${api.addr.port}`;

    type Alert = { status: string; labels: Record<string, string> };
    const alerts: (Alert & { receiver: string })[] = [];
    const hook = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => {
        const body = await request.json();
        const receiver = new URL(request.url).pathname.slice(1);
        alerts.push(
          ...body.alerts.map((alert: Alert) => ({ ...alert, receiver })),
        );
        return new Response(null, { status: 200 });
      },
    );

    const directory = await Deno.makeTempDir({ prefix: "vigil-e2e-" });
    const promPort = freePort();
    const amPort = freePort();
    const children: Deno.ChildProcess[] = [];
    const prom = `http://127.0.0.1:${promPort}`;

    async function query(expr: string): Promise<Sample[]> {
      const response = await fetch(
        `${prom}/api/v1/query?query=${encodeURIComponent(expr)}`,
      );
      const body = await response.json();
      assert.equal(body.status, "success", `${expr}: ${body.error}`);
      assert.equal(body.data.resultType, "vector", expr);
      return body.data.result;
    }
    const scalar = async (expr: string) => {
      const [sample] = await query(expr);
      return sample === undefined ? undefined : Number(sample.value[1]);
    };
    const firing = async () =>
      (await query('ALERTS{alertstate="firing"}')).map((s) =>
        s.metric.alertname
      );

    let kits: ReturnType<typeof startKits> | undefined;
    try {
      kits = startKits(app.registry);
      const { rules } = await generateAlertRules(app.registry, {
        errorFor: "0s",
        kits: E2E_KITS,
      });
      const slo = await generateSloRules(app.registry, SLOS, {
        buckets: BUCKETS,
      });
      await Deno.writeTextFile(`${directory}/vigil.rules.yml`, rules);
      await Deno.writeTextFile(`${directory}/vigil.slo.rules.yml`, slo.rules);
      await Deno.writeTextFile(
        `${directory}/prometheus.yml`,
        stringify({
          global: { scrape_interval: "1s", evaluation_interval: "1s" },
          rule_files: ["vigil.rules.yml", "vigil.slo.rules.yml"],
          alerting: {
            alertmanagers: [{
              static_configs: [{ targets: [`127.0.0.1:${amPort}`] }],
            }],
          },
          scrape_configs: [{
            job_name: "vigil",
            static_configs: [{
              targets: [`127.0.0.1:${app.server.addr.port}`],
            }],
          }],
        }),
      );
      // The generated routing (critical to page, warning to ticket), with
      // the webhooks on this test's receiver and no waiting to group.
      const routing = alertmanagerConfig(`http://127.0.0.1:${hook.addr.port}/`);
      await Deno.writeTextFile(
        `${directory}/alertmanager.yml`,
        stringify({
          ...routing,
          route: {
            ...routing.route,
            group_wait: "0s",
            group_interval: "1s",
            repeat_interval: "1h",
          },
        }),
      );
      children.push(
        new Deno.Command("prometheus-alertmanager", {
          args: [
            `--config.file=${directory}/alertmanager.yml`,
            `--storage.path=${directory}/am`,
            `--web.listen-address=127.0.0.1:${amPort}`,
            "--cluster.listen-address=",
          ],
          stdout: "null",
          stderr: "null",
        }).spawn(),
        new Deno.Command("prometheus", {
          args: [
            `--config.file=${directory}/prometheus.yml`,
            `--storage.tsdb.path=${directory}/data`,
            `--web.listen-address=127.0.0.1:${promPort}`,
          ],
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
      await until("Alertmanager", 15_000, async () => {
        const response = await fetch(`http://127.0.0.1:${amPort}/-/ready`);
        await response.body?.cancel();
        return response.ok || undefined;
      });

      // Healthy phase: successes and perfect predictions.
      const model = app.registry.models()[0]!;
      const pay = (status: number, ms: number) =>
        fetch(`${apiBase}/api/pay?status=${status}&ms=${ms}`).then((r) =>
          r.text()
        );
      const delays = [1, 3, 8, 15, 30, 60, 120];
      let sent = 0;
      for (let i = 0; i < 70; i++) {
        await pay(200, delays[i % delays.length]!);
        sent++;
      }
      for (let i = 0; i < 5; i++) {
        await (await fetch(`${vigil}/health/live`)).text();
      }
      for (let i = 0; i < 200; i++) {
        const actual = i % 5 === 0 ? 1 : 0;
        model.record(actual, actual, 0.9);
      }
      await kits.healthy();
      assert.equal(
        await until("up", 20_000, () => scalar('up{job="vigil"}')),
        1,
      );
      // The rules have been evaluated a few times on healthy data.
      await until(
        "the recording rules",
        15_000,
        async () =>
          await scalar("count(job:http_requests:rate5m)") === 1 || undefined,
      );
      await sleep(3_000);
      assert.deepEqual(await firing(), []);
      assert.equal(alerts.length, 0, JSON.stringify(alerts));

      // A counter equals what was recorded.
      const expected = await scalar(
        'sum(http_requests_total{route="/api/pay",status="200"})',
      );
      assert.equal(expected, sent);

      // Prometheus's p99 lies within one bucket of Vigil's own.
      const own = await app.http.duration.labels({
        method: "GET",
        route: "/api/pay",
      }).snapshot();
      const p99 = await scalar(
        'histogram_quantile(0.99, sum by (le) (http_request_duration_seconds_bucket{route="/api/pay"}))',
      );
      assert.ok(p99 !== undefined && Number.isFinite(p99));
      assert.ok(
        Math.abs(bucketOf(p99) - bucketOf(own.p99)) <= 1,
        `Prometheus p99 ${p99}, Vigil p99 ${own.p99}`,
      );

      // Failing phase: many 5xx spread over scrapes, a drift, and each kit's
      // main alert breached.
      await kits.breach();
      for (let round = 0; round < 6; round++) {
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => pay(i < 16 ? 500 : 200, 1)),
        );
        for (let i = 0; i < 50; i++) model.record(1, 0, 0.6);
        await sleep(500);
      }
      const fired = await until("the alerts at the webhook", 30_000, () => {
        const names = new Set(alerts.map((a) => a.labels.alertname ?? ""));
        return Promise.resolve(
          names.has("ConceptDriftDetected") && names.has("HighErrorRate") &&
            names.has("ErrorBudgetBurn") &&
            MAIN_ALERTS.every((name) => names.has(name))
            ? names
            : undefined,
        );
      });
      const page = alerts.find((a) =>
        a.labels.alertname === "ErrorBudgetBurn" &&
        a.labels.severity === "critical"
      );
      assert.ok(page, `no page: ${JSON.stringify(alerts)}`);
      // Routed by severity, as the generated alertmanager.yml says.
      for (const alert of alerts) {
        assert.equal(
          alert.receiver,
          alert.labels.severity === "critical" ? "page" : "ticket",
          JSON.stringify(alert.labels),
        );
      }
      assert.equal(page.receiver, "page");
      assert.ok(
        alerts.every((a) => a.status === "firing"),
        JSON.stringify(alerts),
      );
      assert.equal(
        alerts.find((a) => a.labels.alertname === "ConceptDriftDetected")
          ?.labels.model_name,
        "fraud",
      );
      assert.equal(
        alerts.find((a) => a.labels.alertname === "ConceptDriftDetected")
          ?.labels.detector_type,
        "ddm",
      );
      for (const name of fired) {
        assert.ok(
          ["ConceptDriftDetected", "HighErrorRate", "ErrorBudgetBurn"].includes(
            name,
          ) || KIT_ALERTS.has(name),
          `unexpected alert ${name}`,
        );
      }

      // Every query of every dashboard panel parses, and returns data.
      const dashboards = await generateDashboards(app.registry, {
        service: "vigil",
        slos: SLOS,
        kits: E2E_KITS,
      });
      const empty: string[] = [];
      let queries = 0;
      for (const dashboard of dashboards) {
        const panels = (dashboard.panels ?? []).flatMap((
          p: { panels?: unknown[] },
        ) => [p, ...(p.panels ?? [])]) as {
          title?: string;
          targets?: { expr?: string }[];
        }[];
        for (const panel of panels) {
          for (const target of panel.targets ?? []) {
            if (target.expr === undefined) continue;
            const expr = target.expr
              .replaceAll("$__rate_interval", "1m")
              .replaceAll("$__interval", "1s")
              .replaceAll("$__range", "5m")
              .replaceAll(/\$\{?job\}?/g, "vigil")
              .replaceAll(/\$\{?instance\}?/g, `.*`);
            queries++;
            const result = await query(expr);
            if (result.length === 0) {
              empty.push(`${dashboard.title} / ${panel.title}: ${expr}`);
            }
          }
        }
      }
      assert.ok(queries > 20, `only ${queries} queries`);
      const silent = empty.filter((line) => !NOT_EXERCISED.test(line));
      assert.deepEqual(silent, [], "panels without data");
    } finally {
      kits?.stop();
      for (const child of children) {
        try {
          child.kill("SIGTERM");
        } catch { /* already gone */ }
        await child.status;
      }
      await hook.shutdown();
      await api.shutdown();
      await app.shutdown();
      await Deno.remove(directory, { recursive: true });
    }
  },
});
