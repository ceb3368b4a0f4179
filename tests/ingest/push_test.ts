import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import { PushGateway, type PushGatewayOptions } from "../../src/ingest/push.ts";

interface Fixture {
  registry: Registry;
  gateway: PushGateway;
  url: string;
  push(
    method: string,
    path: string,
    body?: BodyInit,
    headers?: HeadersInit,
  ): Promise<{ status: number; text: string }>;
  scrape(): Promise<string>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A Deno.serve on 127.0.0.1:0 routing /metrics/job/... and GET /metrics. */
function serve(options: PushGatewayOptions = {}): Fixture {
  const registry = new Registry();
  const gateway = new PushGateway(registry, options);
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      if (path.startsWith("/metrics/")) {
        return await gateway.handle(request, path.slice("/metrics/".length));
      }
      if (path === "/metrics" && request.method === "GET") {
        return new Response(await registry.metrics());
      }
      return new Response("not found", { status: 404 });
    },
  );
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    registry,
    gateway,
    url,
    async push(method, path, body, headers) {
      const response = await fetch(`${url}/metrics/${path}`, {
        method,
        body: body ?? null,
        headers: headers ?? {},
      });
      return { status: response.status, text: await response.text() };
    },
    async scrape() {
      const response = await fetch(`${url}/metrics`);
      return await response.text();
    },
    async [Symbol.asyncDispose]() {
      gateway.close();
      await server.shutdown();
      await registry.close();
    },
  };
}

function lines(text: string): string[] {
  return text.split("\n");
}

Deno.test("PushGateway: PUT replaces the group, POST only the metrics it names, DELETE removes it", async (t) => {
  await using f = serve({ now: () => 1_700_000_000_000 });
  await t.step('PUT stores with grouping labels and instance=""', async () => {
    const r = await f.push(
      "PUT",
      "job/batch/shard/1",
      "# TYPE a counter\na_total 1\nb 2\n",
    );
    assert.equal(r.status, 200);
    const text = await f.scrape();
    assert.ok(
      lines(text).includes('a_total{instance="",job="batch",shard="1"} 1'),
    );
    assert.ok(lines(text).includes('b{instance="",job="batch",shard="1"} 2'));
    assert.ok(
      lines(text).includes(
        'push_time_seconds{instance="",job="batch",shard="1"} 1700000000',
      ),
    );
    assert.ok(
      lines(text).includes(
        'push_failure_time_seconds{instance="",job="batch",shard="1"} 0',
      ),
    );
  });
  await t.step(
    "POST replaces same-named metrics and keeps the others",
    async () => {
      const r = await f.push("POST", "job/batch/shard/1", "b 3\nc 4\n");
      assert.equal(r.status, 200);
      const text = await f.scrape();
      assert.ok(
        lines(text).includes('a_total{instance="",job="batch",shard="1"} 1'),
      );
      assert.ok(lines(text).includes('b{instance="",job="batch",shard="1"} 3'));
      assert.ok(lines(text).includes('c{instance="",job="batch",shard="1"} 4'));
    },
  );
  await t.step("PUT replaces everything", async () => {
    assert.equal(
      (await f.push("PUT", "job/batch/shard/1", "d 5\n")).status,
      200,
    );
    const text = await f.scrape();
    assert.doesNotMatch(text, /^(a_total|b|c)\{/m);
    assert.ok(lines(text).includes('d{instance="",job="batch",shard="1"} 5'));
  });
  await t.step("another group is separate", async () => {
    assert.equal(
      (await f.push("PUT", "job/batch/shard/2", "d 6\n")).status,
      200,
    );
    assert.equal(f.gateway.groups, 2);
  });
  await t.step("DELETE removes the group and answers 202", async () => {
    assert.equal((await f.push("DELETE", "job/batch/shard/1")).status, 202);
    const text = await f.scrape();
    assert.doesNotMatch(text, /shard="1"/);
    assert.ok(lines(text).includes('d{instance="",job="batch",shard="2"} 6'));
    assert.equal((await f.push("DELETE", "job/nothing")).status, 202);
  });
});

Deno.test("PushGateway: grouping labels override body labels; @base64 values", async () => {
  await using f = serve();
  const path = `job/j/path@base64/${btoa("/var/tmp").replaceAll("=", "")}`;
  const r = await f.push(
    "PUT",
    path,
    'x{job="other",path="p",instance="i1",k="v"} 1\n',
  );
  assert.equal(r.status, 200);
  const text = await f.scrape();
  assert.ok(
    lines(text).includes('x{instance="i1",job="j",k="v",path="/var/tmp"} 1'),
    text,
  );
});

Deno.test("PushGateway: a malformed body gets 400 naming the line and nothing of it is applied", async () => {
  await using f = serve();
  assert.equal((await f.push("PUT", "job/j", "ok 1\n")).status, 200);
  const before = await f.scrape();
  const r = await f.push("PUT", "job/j", "good 1\nbad{x=1} 2\n");
  assert.equal(r.status, 400);
  assert.match(r.text, /line 2: label value is not quoted/);
  const r2 = await f.push("PUT", "job/k", "x 1 1700000000\n");
  assert.equal(r2.status, 400);
  assert.match(r2.text, /timestamp/);
  assert.equal(await f.scrape(), before);
});

Deno.test("PushGateway: inconsistent pushes get 400 and set push_failure_time_seconds", async (t) => {
  let now = 1_000_000;
  await using f = serve({ now: () => now });
  f.registry.gauge({ name: "taken_gauge", help: "Taken" });
  f.registry.counter({ name: "requests_total", help: "Requests" });
  assert.equal(
    (await f.push("PUT", "job/a", "# TYPE x counter\nx 1\n")).status,
    200,
  );
  now += 5000;
  await t.step("a type differing from another group's", async () => {
    const r = await f.push("PUT", "job/b", "# TYPE x gauge\nx 1\n");
    assert.equal(r.status, 400);
    assert.match(
      r.text,
      /metric "x" is pushed as gauge but other groups push it as counter/,
    );
    const text = await f.scrape();
    assert.ok(
      lines(text).includes(
        'push_failure_time_seconds{instance="",job="b"} 1005',
      ),
    );
    assert.ok(lines(text).includes('push_time_seconds{instance="",job="b"} 0'));
    assert.doesNotMatch(text, /^x\{instance="",job="b"\}/m);
  });
  await t.step("the same group may change a type it alone pushes", async () => {
    assert.equal(
      (await f.push("PUT", "job/a", "# TYPE x gauge\nx 1\n")).status,
      200,
    );
  });
  await t.step("a name the registry exposes", async () => {
    for (const name of ["taken_gauge", "requests_total", "requests_created"]) {
      const r = await f.push("POST", "job/a", `${name} 1\n`);
      assert.equal(r.status, 400);
      assert.match(r.text, new RegExp(`"${name}"`));
    }
    for (const name of ["push_time_seconds", "vigil_collect_errors_total"]) {
      assert.equal(
        (await f.push("POST", "job/c", `${name} 1\n`)).status,
        name === "push_time_seconds" ? 200 : 400,
      );
    }
  });
  await t.step("a clash with another family's samples", async () => {
    assert.equal(
      (await f.push(
        "PUT",
        "job/d",
        '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
      )).status,
      200,
    );
    const r = await f.push("PUT", "job/e", "h_count 1\n");
    assert.equal(r.status, 400);
    assert.match(r.text, /clashes with the samples of metric "h"/);
  });
  await t.step("series made equal by the grouping labels", async () => {
    const r = await f.push("PUT", "job/f", 'y{job="1"} 1\ny{job="2"} 2\n');
    assert.equal(r.status, 400);
  });
});

Deno.test("PushGateway: gzip bodies are accepted; protobuf and unknown encodings get 415", async () => {
  await using f = serve();
  const gz = await new Response(
    new Blob(["gz_metric 7\n"]).stream().pipeThrough(
      new CompressionStream("gzip"),
    ),
  ).arrayBuffer();
  const r = await f.push("PUT", "job/z", gz, { "content-encoding": "gzip" });
  assert.equal(r.status, 200);
  assert.ok(
    lines(await f.scrape()).includes('gz_metric{instance="",job="z"} 7'),
  );
  const bad = await f.push("PUT", "job/z", "not gzip", {
    "content-encoding": "gzip",
  });
  assert.equal(bad.status, 400);
  const proto = await f.push("PUT", "job/z", "x", {
    "content-type":
      "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
  });
  assert.equal(proto.status, 415);
  assert.equal(
    (await f.push("PUT", "job/z", "x 1\n", { "content-encoding": "br" }))
      .status,
    415,
  );
  assert.equal((await f.push("PATCH", "job/z", "x 1\n")).status, 405);
  assert.equal((await f.push("PUT", "job", "x 1\n")).status, 400);
});

Deno.test("PushGateway: groups expire ttlSeconds after their last push (injected clock)", async () => {
  let now = 0;
  await using f = serve({ ttlSeconds: 60, now: () => now });
  await f.push("PUT", "job/old", "old_metric 1\n");
  now = 30_000;
  await f.push("PUT", "job/fresh", "fresh_metric 1\n");
  now = 59_999;
  assert.match(await f.scrape(), /old_metric/);
  now = 60_000;
  let text = await f.scrape();
  assert.doesNotMatch(text, /old_metric|job="old"/);
  assert.match(text, /fresh_metric/);
  await f.push("POST", "job/fresh", "other 1\n"); // refreshes the group
  now = 119_999;
  assert.match(await f.scrape(), /fresh_metric/);
  now = 120_000;
  text = await f.scrape();
  assert.doesNotMatch(text, /fresh_metric|push_time_seconds\{/);
  assert.equal(f.gateway.groups, 0);
  // An expired group's type no longer constrains others.
  assert.equal(
    (await f.push(
      "PUT",
      "job/x",
      "# TYPE fresh_metric gauge\nfresh_metric 1\n",
    )).status,
    200,
  );
});

Deno.test("PushGateway: limits get 413 naming the limit and change nothing", async (t) => {
  await using f = serve({ maxGroups: 2, maxSeries: 3, maxBodyBytes: 64 });
  await t.step("maxBodyBytes, declared and gzipped", async () => {
    const r = await f.push("PUT", "job/a", "x 1\n".repeat(20));
    assert.equal(r.status, 413);
    assert.match(r.text, /maxBodyBytes/);
    const gz = await new Response(
      new Blob(["x 1\n" + "# padding\n".repeat(100)]).stream().pipeThrough(
        new CompressionStream("gzip"),
      ),
    ).arrayBuffer();
    assert.ok(gz.byteLength < 64);
    const r2 = await f.push("PUT", "job/a", gz, { "content-encoding": "gzip" });
    assert.equal(r2.status, 413);
  });
  await t.step("maxSeries across groups", async () => {
    assert.equal((await f.push("PUT", "job/a", "x 1\ny 1\n")).status, 200);
    const r = await f.push("PUT", "job/b", "x 1\ny 1\n");
    assert.equal(r.status, 413);
    assert.match(r.text, /maxSeries/);
    // Replacing within the limit is fine.
    assert.equal((await f.push("PUT", "job/a", "x 1\ny 1\nz 1\n")).status, 200);
  });
  await t.step("maxGroups", async () => {
    assert.equal((await f.push("PUT", "job/a", "x 1\n")).status, 200);
    assert.equal((await f.push("PUT", "job/b", "x 1\n")).status, 200);
    const r = await f.push("PUT", "job/c", "x 1\n");
    assert.equal(r.status, 413);
    assert.match(r.text, /maxGroups/);
    assert.equal(f.gateway.groups, 2);
  });
});

Deno.test("PushGateway.close() unregisters it and answers 503", async () => {
  await using f = serve();
  await f.push("PUT", "job/a", "x 1\n");
  f.gateway.close();
  assert.doesNotMatch(await f.scrape(), /push_time_seconds/);
  assert.equal(f.registry.hasName("push_time_seconds"), false);
  assert.equal((await f.push("PUT", "job/a", "x 1\n")).status, 503);
});

Deno.test("PushGateway renders pushed families in OpenMetrics", async () => {
  const registry = new Registry();
  const gateway = new PushGateway(registry);
  try {
    await gateway.handle(
      new Request("http://localhost/", {
        method: "PUT",
        body: "# TYPE c counter\nc 1\nu 2\n",
      }),
      "job/a",
    );
    const text = await registry.metrics({ format: "openmetrics" });
    assert.match(
      text,
      /^# TYPE c counter\nc_total\{instance="",job="a"\} 1\.0$/m,
    );
    assert.match(text, /^# TYPE u unknown$/m);
  } finally {
    gateway.close();
    await registry.close();
  }
});
