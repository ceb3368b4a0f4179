import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import { jobMetrics, jobsKit } from "../../src/kits/jobs.ts";
import { assertMetrics, sampleValue } from "../../src/testing.ts";
import { ignoreWithoutPromtool } from "../_tools.ts";
import { assertKitRowParses, assertKitRules } from "./_kit_promtool.ts";

const setup = (registry: Registry) =>
  void jobMetrics(registry, { name: "emails" });

Deno.test("jobMetrics() counts runs by status, times them and tracks jobs in progress, two queues sharing the families", async () => {
  const registry = new Registry();
  try {
    const emails = jobMetrics(registry, { name: "emails" });
    const reports = jobMetrics(registry, { name: "reports" });
    const inProgress = (queue: string) =>
      sampleValue(registry, "jobs_in_progress", { queue });
    assert.equal(emails.run(() => 1), 1);
    assert.throws(() =>
      emails.run(() => {
        throw new Error("smtp");
      }), /smtp/);
    const slow = Promise.withResolvers<string>();
    const running = reports.run(() => slow.promise);
    assert.equal(await inProgress("reports"), 1);
    slow.resolve("done");
    assert.equal(await running, "done");
    await assert.rejects(
      reports.run(() => Promise.reject(new Error("timeout"))),
      /timeout/,
    );
    const job = emails.started();
    assert.equal(await inProgress("emails"), 1);
    job.succeeded();
    job.failed();
    await assertMetrics(
      registry,
      `
      # TYPE jobs_total counter
      jobs_total{queue="emails",status="success"} 2
      jobs_total{queue="emails",status="failure"} 1
      jobs_total{queue="reports",status="success"} 1
      jobs_total{queue="reports",status="failure"} 1
      # TYPE jobs_in_progress gauge
      jobs_in_progress{queue="emails"} 0
      jobs_in_progress{queue="reports"} 0
      `,
    );
    assert.equal(
      await sampleValue(registry, "job_duration_seconds_count", {
        queue: "emails",
      }),
      3,
    );
    assert.equal(
      await sampleValue(registry, "job_duration_seconds_count", {
        queue: "reports",
      }),
      2,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("jobMetrics() and jobsKit() refuse bad input, naming the field", async () => {
  const registry = new Registry();
  try {
    assert.throws(() => jobMetrics(registry, { name: "" }), {
      name: "TypeError",
      message:
        'Cannot create the jobs kit: name must be a non-empty string, got ""',
    });
    registry.gauge({
      name: "jobs_total",
      help: "Not a counter",
      labelNames: ["queue"],
    });
    assert.throws(() => jobMetrics(registry, { name: "emails" }), {
      name: "TypeError",
      message: /Cannot share metric "jobs_total"/,
    });
    assert.throws(() => jobsKit({ failureRatio: 1 }), {
      name: "RangeError",
      message:
        "Cannot create the jobs kit: failureRatio must be in (0, 1), got 1",
    });
    assert.throws(() => jobsKit({ failureRatio: "10%" as unknown as number }), {
      name: "TypeError",
      message:
        'Cannot create the jobs kit: failureRatio must be a number, got "10%"',
    });
    assert.throws(() => jobsKit({ failureRatioFor: "10" }), {
      name: "TypeError",
      message: /failureRatioFor must be a Prometheus duration/,
    });
  } finally {
    await registry.close();
  }
});

Deno.test({
  name:
    "jobsKit() rules pass promtool: BackgroundJobFailures fires just past the failing share, silent just within",
  ignore: await ignoreWithoutPromtool(),
  async fn(t) {
    for (
      const options of [{}, { failureRatio: 0.25, failureRatioFor: "5m" }, {
        failureRatio: 0.07,
      }]
    ) {
      await t.step(JSON.stringify(options), async () => {
        const rules = await assertKitRules(jobsKit(options), setup);
        assert.match(
          rules,
          /job_queue:jobs_failed:ratio_rate5m\{job="api"\} > /,
        );
      });
    }
  },
});

Deno.test({
  name: "jobsKit() row's queries parse in promtool",
  ignore: await ignoreWithoutPromtool(),
  fn: () => assertKitRowParses(jobsKit(), setup),
});
