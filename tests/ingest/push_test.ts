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
    // Named without _total: unknown, as pushed.
    assert.match(
      text,
      /^# TYPE c unknown\nc\{instance="",job="a"\} 1\.0$/m,
    );
    assert.match(text, /^# TYPE u unknown$/m);
  } finally {
    gateway.close();
    await registry.close();
  }
});

/** A PUT whose body is sent in part: `rest()` sends the remainder. */
async function partialPut(
  url: string,
  path: string,
  body: string,
  sent: number,
): Promise<{
  rest(): Promise<void>;
  response(): Promise<string>;
  close(): void;
}> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  const encoder = new TextEncoder();
  const head = `PUT /metrics/${path} HTTP/1.1\r\nhost: ${hostname}\r\n` +
    `content-length: ${encoder.encode(body).byteLength}\r\n` +
    "connection: close\r\n\r\n";
  await conn.write(encoder.encode(head + body.slice(0, sent)));
  let closed = false;
  return {
    async rest() {
      await conn.write(encoder.encode(body.slice(sent)));
    },
    async response() {
      // The test's own deadline, so a hang fails instead of blocking.
      const buffer = new Uint8Array(4096);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("no response within 5 s")),
          5000,
        );
      });
      try {
        const n = await Promise.race([conn.read(buffer), deadline]);
        return new TextDecoder().decode(buffer.subarray(0, n ?? 0));
      } finally {
        clearTimeout(timer);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      conn.close();
    },
  };
}

Deno.test("PushGateway refuses a series given twice once its final labels are built", async (t) => {
  await using f = serve();
  await t.step("an empty grouping value is no label: one group", async () => {
    assert.equal((await f.push("PUT", "job/e", "dd 1\n")).status, 200);
    const r = await f.push("PUT", "job/e/instance@base64/=", "dd 2\n");
    assert.equal(r.status, 200, r.text);
    assert.equal(f.gateway.groups, 1);
    const text = await f.scrape();
    assert.deepEqual(text.match(/^dd\{.*$/gm), ['dd{instance="",job="e"} 2']);
    assert.equal(text.match(/^push_time_seconds\{/gm)?.length, 1);
  });
  await t.step('in one body: dd{instance=""} and dd', async () => {
    const r = await f.push("PUT", "job/f", 'dd2{instance=""} 1\ndd2 2\n');
    assert.equal(r.status, 400);
    assert.match(r.text, /metric "dd2"/);
    assert.doesNotMatch(await f.scrape(), /^dd2\{/m);
  });
  await t.step(
    "in one body: labels differing only in an empty one",
    async () => {
      const r = await f.push("PUT", "job/f", 'ee{a=""} 1\nee 2\n');
      assert.equal(r.status, 400);
      assert.match(r.text, /metric "ee"/);
      // Kept as sent otherwise, as Pushgateway serves it.
      assert.equal((await f.push("PUT", "job/q", 'qq{a=""} 1\n')).status, 200);
      assert.match(await f.scrape(), /^qq\{a="",instance="",job="q"\} 1$/m);
    },
  );
  await t.step("across groups whose final labels meet", async () => {
    assert.equal((await f.push("PUT", "job/k", 'm{x="1"} 1\n')).status, 200);
    const r = await f.push("PUT", "job/k/x/1", "m 2\n");
    assert.equal(r.status, 400);
    assert.match(r.text, /metric "m"/);
    const text = await f.scrape();
    assert.deepEqual(text.match(/^m\{.*$/gm), [
      'm{instance="",job="k",x="1"} 1',
    ]);
    // The group that refused it keeps its failure time, as Pushgateway's.
    assert.match(
      text,
      /^push_failure_time_seconds\{instance="",job="k",x="1"\} [1-9]/m,
    );
    // Replacing the holder's series frees them.
    assert.equal((await f.push("PUT", "job/k", "other 1\n")).status, 200);
    assert.equal((await f.push("PUT", "job/k/x/1", "m 2\n")).status, 200);
  });
});

Deno.test("PushGateway applies the registry's default labels before its duplicate check", async () => {
  const registry = new Registry({ defaultLabels: { region: "eu" } });
  const gateway = new PushGateway(registry);
  const put = (path: string, body: string, method = "PUT") =>
    gateway.handle(new Request("http://localhost/", { method, body }), path);
  try {
    const r = await put("job/a", 'm 1\nm{region="eu"} 2\n');
    assert.equal(r.status, 400);
    assert.match(await r.text(), /metric "m"/);
    assert.equal((await put("job/a", 'm 1\nm{region="us"} 2\n')).status, 200);
    // The group's labels include them: job/a is job/a/region/eu.
    assert.equal((await put("job/a/region/eu", "n 1\n", "POST")).status, 200);
    assert.equal(gateway.groups, 1);
    const text = await registry.metrics();
    assert.match(text, /^m\{instance="",job="a",region="eu"\} 1$/m);
    assert.match(text, /^m\{instance="",job="a",region="us"\} 2$/m);
    assert.equal(text.match(/^push_time_seconds\{/gm)?.length, 1);
    // Every pushed series carries them once.
    assert.doesNotMatch(text, /region="eu".*region=/);
  } finally {
    gateway.close();
    await registry.close();
  }
});

Deno.test("PushGateway answers 408 to a body that does not arrive in requestTimeoutMs", async () => {
  await using f = serve({ requestTimeoutMs: 200 });
  const slow = await partialPut(f.url, "job/slow", "x 1\n" + " ".repeat(96), 5);
  try {
    assert.match(await slow.response(), /^HTTP\/1\.1 408 /);
  } finally {
    slow.close();
  }
  assert.equal(f.gateway.groups, 0);
});

Deno.test("PushGateway answers 503 past maxPendingBodies, and to a body still coming at close()", async (t) => {
  await using f = serve({ maxPendingBodies: 1 });
  await t.step("past maxPendingBodies", async () => {
    const slow = await partialPut(f.url, "job/slow", "x 1\n", 2);
    try {
      // Let the server start reading the first body.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const r = await f.push("PUT", "job/b", "y 1\n");
      assert.equal(r.status, 503);
      assert.match(r.text, /maxPendingBodies/);
      await slow.rest();
      assert.match(await slow.response(), /^HTTP\/1\.1 200 /);
    } finally {
      slow.close();
    }
    assert.equal((await f.push("PUT", "job/b", "y 1\n")).status, 200);
  });
  await t.step("a body still coming when close() runs", async () => {
    const slow = await partialPut(f.url, "job/late", "late 1\n", 2);
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      f.gateway.close();
      await slow.rest();
      assert.match(await slow.response(), /^HTTP\/1\.1 503 /);
    } finally {
      slow.close();
    }
    assert.equal(f.gateway.groups, 0);
  });
});

Deno.test("PushGateway bounds the bytes it holds: label values, HELP and maxBytes", async (t) => {
  await using f = serve({
    maxLabelValueLength: 16,
    maxHelpLength: 16,
    maxBytes: 4096,
  });
  await t.step("a body label value", async () => {
    const r = await f.push("PUT", "job/a", `x{v="${"a".repeat(17)}"} 1\n`);
    assert.equal(r.status, 413);
    assert.match(r.text, /maxLabelValueLength/);
  });
  await t.step("a grouping label value", async () => {
    const r = await f.push("PUT", `job/a/v/${"a".repeat(17)}`, "x 1\n");
    assert.equal(r.status, 413);
    assert.match(r.text, /maxLabelValueLength/);
  });
  await t.step("a HELP text", async () => {
    const r = await f.push("PUT", "job/a", `# HELP x ${"h".repeat(17)}\nx 1\n`);
    assert.equal(r.status, 413);
    assert.match(r.text, /maxHelpLength/);
  });
  await t.step("maxBytes across groups", async () => {
    const body = Array.from({ length: 10 }, (_, i) =>
      `x{v="${String(i).padStart(16, "v")}"} 1`).join("\n") + "\n";
    let status = 200;
    let pushed = 0;
    for (; pushed < 20 && status === 200; pushed++) {
      const r = await f.push("PUT", `job/g${pushed}`, body);
      status = r.status;
      if (status !== 200) {
        assert.match(r.text, /maxBytes/);
      }
    }
    assert.equal(status, 413);
    assert.ok(pushed > 1, `only ${pushed} pushes fit`);
    assert.equal(f.gateway.groups, pushed - 1);
    // Deleting a group frees its bytes.
    assert.equal((await f.push("DELETE", "job/g0")).status, 202);
    assert.equal((await f.push("PUT", "job/again", body)).status, 200);
  });
});

Deno.test("PushGateway refuses body labels starting with __ and serves le and quantile as Pushgateway does", async () => {
  await using f = serve();
  const bad = await f.push("PUT", "job/a", 'ok 1\nm{__x="1"} 1\n');
  assert.equal(bad.status, 400);
  assert.match(bad.text, /line 2: label name "__x" is reserved/);
  const body = [
    "# TYPE h histogram",
    'h_bucket{le="1.0"} 1',
    'h_bucket{le="1e6"} 1',
    'h_bucket{le="+Inf"} 2',
    "h_sum 3",
    "h_count 2",
    "# TYPE s summary",
    's{quantile="0.50"} 1',
    "s_sum 1",
    "s_count 1",
    "",
  ].join("\n");
  assert.equal((await f.push("PUT", "job/a", body)).status, 200);
  const text = await f.scrape();
  for (
    const line of [
      'h_bucket{instance="",job="a",le="1"} 1',
      'h_bucket{instance="",job="a",le="1e+06"} 1',
      'h_bucket{instance="",job="a",le="+Inf"} 2',
      's{instance="",job="a",quantile="0.5"} 1',
    ]
  ) assert.ok(text.split("\n").includes(line), line);
});
