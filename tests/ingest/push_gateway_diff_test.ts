// A differential test: Python's prometheus_client pushes the same registry
// to Debian's real prometheus-pushgateway and to Vigil's PushGateway, and
// both /metrics must hold the same pushed samples.
//
// Deliberate differences, ignored here: push_time_seconds values and the
// client's `_created` gauges (each gateway gets its own client run, so its
// own times); values compared as numbers (Go writes 1.7e+09);
// Pushgateway's own go_*, process_*, pushgateway_* and promhttp_* families
// and Vigil's vigil_* families; sample order. `le` and `quantile` are
// compared verbatim: both write the client's `1.0` back as Go does, `1`.
import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import { PushGateway } from "../../src/ingest/push.ts";
import { ignoreWithout, PYTHON } from "../_tools.ts";

const PUSHGATEWAY = "prometheus-pushgateway";

const ignore =
  await ignoreWithout(PUSHGATEWAY, "apt-get install prometheus-pushgateway") ||
  await ignoreWithout(PYTHON, "apt-get install python3-prometheus-client", [
    "-c",
    "import prometheus_client",
  ]);

const CLIENT = `
import sys
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client import push_to_gateway, pushadd_to_gateway, delete_from_gateway
gateway, step = sys.argv[1], sys.argv[2]
r = CollectorRegistry()
c = Counter("diff_jobs", "Jobs done", ["queue"], registry=r)
c.labels("a").inc(3); c.labels('q"uo\\\\te').inc(1.5)
g = Gauge("diff_last_success_seconds", "Last success", ["kind"], registry=r)
g.labels("full").set(1700000000.25)
h = Histogram("diff_duration_seconds", "Duration", ["step"], buckets=[0.1, 1, 10], registry=r)
h.labels("copy").observe(0.05); h.labels("copy").observe(2)
s = Summary("diff_bytes", "Bytes", ["dest"], registry=r)
s.labels("s3").observe(1024)
key = {"path": "/var/backups", "instance": "db1"}
if step == "put":
    push_to_gateway(gateway, job="backup", registry=r, grouping_key=key)
elif step == "pushadd":
    r2 = CollectorRegistry()
    Gauge("diff_added", "Added later", registry=r2).set(7)
    g2 = Gauge("diff_last_success_seconds", "Last success", ["kind"], registry=r2)
    g2.labels("incremental").set(5)
    pushadd_to_gateway(gateway, job="backup", registry=r2, grouping_key=key)
    push_to_gateway(gateway, job="other", registry=r2)
elif step == "delete":
    delete_from_gateway(gateway, job="other")
`;

async function python(gateway: string, step: string): Promise<void> {
  const { code, stderr } = await new Deno.Command(PYTHON, {
    args: ["-c", CLIENT, gateway, step],
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const IGNORED = /^(go_|process_|pushgateway_|promhttp_|vigil_)/;

function unescape(value: string): string {
  return value.replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
}

function bound(value: string): string {
  const n = value === "+Inf" ? Infinity : Number(value);
  return Number.isNaN(n) ? value : String(n);
}

/** `name{sorted labels} value` per sample of the pushed families. */
function samples(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `unparsable line ${line}`);
    const [, name, labelText = "", value] = match;
    if (IGNORED.test(name!)) continue;
    const labels: [string, string][] = [];
    for (
      const [, key, raw] of labelText.matchAll(
        /([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g,
      )
    ) {
      labels.push([key!, unescape(raw!)]);
    }
    labels.sort((a, b) => a[0] < b[0] ? -1 : 1);
    const key = `${name}{${
      labels.map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")
    }}`;
    // Times differ between the two runs of the client: only their sign
    // is compared.
    const time = name === "push_time_seconds" ||
      name === "push_failure_time_seconds" || name!.endsWith("_created");
    out.set(key, time ? (Number(value) > 0 ? ">0" : "0") : bound(value!));
  }
  return out;
}

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const response = await fetch(`${url}/-/ready`);
      await response.body?.cancel();
      if (response.ok) return;
    } catch (error) {
      if (!(error instanceof TypeError)) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`Pushgateway at ${url} did not become ready`);
}

Deno.test({
  name:
    "PushGateway matches prometheus-pushgateway for prometheus_client's push, pushadd and delete",
  ignore,
  async fn(t) {
    const dir = await Deno.makeTempDir();
    const port = freePort();
    const real = new Deno.Command(PUSHGATEWAY, {
      args: [`--web.listen-address=127.0.0.1:${port}`, "--persistence.file="],
      cwd: dir,
      stdout: "null",
      stderr: "null",
    }).spawn();
    const registry = new Registry();
    const gateway = new PushGateway(registry);
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => {
        const path = new URL(request.url).pathname;
        if (path.startsWith("/metrics/")) {
          return await gateway.handle(request, path.slice(9));
        }
        return new Response(await registry.metrics());
      },
    );
    const realUrl = `http://127.0.0.1:${port}`;
    const vigilUrl = `http://127.0.0.1:${server.addr.port}`;
    try {
      await waitReady(realUrl);
      const compare = async (): Promise<Map<string, string>> => {
        const [a, b] = await Promise.all(
          [realUrl, vigilUrl].map(async (url) =>
            samples(await (await fetch(`${url}/metrics`)).text())
          ),
        );
        assert.deepEqual([...b!].sort(), [...a!].sort());
        return b!;
      };
      await t.step(
        "push_to_gateway (PUT) with a @base64 grouping value",
        async () => {
          await python(realUrl, "put");
          await python(vigilUrl, "put");
          const got = await compare();
          assert.ok(
            got.has(
              'diff_jobs_total{instance="db1",job="backup",path="/var/backups",queue="a"}',
            ),
          );
          assert.equal(
            got.get(
              'diff_duration_seconds_bucket{instance="db1",job="backup",le="1",path="/var/backups",step="copy"}',
            ),
            "1",
          );
        },
      );
      await t.step("pushadd_to_gateway (POST) and a second job", async () => {
        await python(realUrl, "pushadd");
        await python(vigilUrl, "pushadd");
        const got = await compare();
        assert.equal(
          got.get(
            'diff_added{instance="db1",job="backup",path="/var/backups"}',
          ),
          "7",
        );
        assert.ok(
          got.has(
            'diff_jobs_total{instance="db1",job="backup",path="/var/backups",queue="a"}',
          ),
        );
        assert.ok(
          !got.has(
            'diff_last_success_seconds{instance="db1",job="backup",kind="full",path="/var/backups"}',
          ),
        );
      });
      await t.step("the same answers to raw pushes", async () => {
        const cases: [string, string, number][] = [
          ["job/f", 'dd{instance=""} 1\ndd 2\n', 400],
          ["job/g", 'm{__x="1"} 1\n', 400],
          ["job@base64/YS9i", "ab 1\n", 200],
          ["job/h/%6Eame/v", "hn 1\n", 200],
          ["job/i/p@base64/L3g%3D", "ip 1\n", 200],
          ["job/k", 'km{x="1"} 1\n', 200],
          ["job/k/x/1", "km 2\n", 400],
          ["job/q", 'qq{a=""} 1\n', 200],
        ];
        for (const [path, body, status] of cases) {
          for (const url of [realUrl, vigilUrl]) {
            const response = await fetch(`${url}/metrics/${path}`, {
              method: "PUT",
              body,
            });
            const text = await response.text();
            assert.equal(response.status, status, `${url} ${path}: ${text}`);
          }
        }
        // Vigil refuses a `__` label at parse, recording no failure time
        // (a deliberate difference); Pushgateway records one for job g.
        for (const url of [realUrl, vigilUrl]) {
          const response = await fetch(`${url}/metrics/job/g`, {
            method: "DELETE",
          });
          await response.body?.cancel();
        }
        const got = await compare();
        assert.ok(got.has('ab{instance="",job="a/b"}'));
        assert.ok(got.has('ip{instance="",job="i",p="/x"}'));
        // A refused push records its failure time on both.
        assert.equal(
          got.get('push_failure_time_seconds{instance="",job="k",x="1"}'),
          ">0",
        );
      });
      await t.step("delete_from_gateway (DELETE)", async () => {
        await python(realUrl, "delete");
        await python(vigilUrl, "delete");
        const got = await compare();
        assert.ok(![...got.keys()].some((key) => key.includes('job="other"')));
      });
    } finally {
      real.kill("SIGTERM");
      await real.status;
      gateway.close();
      await server.shutdown();
      await registry.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
