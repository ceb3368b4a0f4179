import assert from "node:assert/strict";
import { type Model, Registry } from "../../src/metrics/mod.ts";
import {
  createHandler,
  driftRoutes,
  httpMetrics,
  isLoopback,
  serve,
  type ServeOptions,
  writeAccess,
} from "../../src/http/mod.ts";
import type { ModelOptions } from "../../src/drift/model_types.ts";
import { rawRequest } from "./_raw.ts";
import { recordingLogger } from "../_tools.ts";

const ENSEMBLE: ModelOptions = {
  name: "ensemble",
  classes: [0, 1],
  detectors: [{ kind: "ddm" }, { kind: "adwin", input: "confidence" }],
};
const PRICE: ModelOptions = {
  name: "price",
  regression: true,
  detectors: [{ kind: "page_hinkley", input: "residual" }],
};

type Fetch = (path: string, init?: RequestInit) => Promise<Response>;

/** A server on 127.0.0.1 with `models`, and a fetch relative to it. */
async function withServer(
  models: readonly ModelOptions[],
  fn: (fetchPath: Fetch, registry: Registry, port: number) => Promise<void>,
  options: Partial<ServeOptions> = {},
): Promise<void> {
  const registry = new Registry({ logger: recordingLogger() });
  for (const model of models) registry.model(model);
  const server = serve({
    registry,
    port: 0,
    hostname: "127.0.0.1",
    logger: recordingLogger(),
    ...options,
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    await fn(
      (path, init) => fetch(`${base}${path}`, init),
      registry,
      server.addr.port,
    );
  } finally {
    await server.shutdown();
    await registry.close();
  }
}

function post(body?: unknown, headers?: Record<string, string>): RequestInit {
  return {
    method: "POST",
    ...(body === undefined ? {} : {
      body: typeof body === "string" ? body : JSON.stringify(body),
      headers: { "content-type": "application/json", ...headers },
    }),
    ...(body === undefined && headers !== undefined ? { headers } : {}),
  };
}

async function status(fetchPath: Fetch, model = "ensemble") {
  const response = await fetchPath(`/drift/status?model=${model}`);
  assert.equal(response.status, 200);
  const { models } = await response.json();
  return models[0];
}

Deno.test("POST /drift/update takes the query form; GET /drift/status sees it at once", async () => {
  await withServer([ENSEMBLE], async (fetchPath) => {
    const response = await fetchPath(
      "/drift/update?model=ensemble&prediction=1&actual=0&proba=0.8",
      post(),
    );
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      model: "ensemble",
      applied: 1,
    });
    const model = await status(fetchPath);
    assert.equal(model.name, "ensemble");
    assert.equal(model.predictions, 1);
    assert.deepEqual(
      model.detectors.map((d: { kind: string; updates: number }) => [
        d.kind,
        d.updates,
      ]),
      [["ddm", 1], ["adwin", 1]],
    );
    assert.equal(model.quality.lifetime.accuracy, 0);
  });
});

Deno.test("The ML-trading seed's form works through an alias, without a model when there is one", async () => {
  const registry = new Registry({ logger: recordingLogger() });
  registry.model(ENSEMBLE);
  const http = httpMetrics(registry);
  const server = serve({
    registry,
    port: 0,
    hostname: "127.0.0.1",
    http,
    logger: recordingLogger(),
    aliases: {
      "/monitoring/drift/update": "/drift/update",
      "/monitoring/drift/status": "/drift/status",
    },
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const response = await fetch(
      `${base}/monitoring/drift/update?prediction=1&actual=0&proba=0.8`,
      { method: "POST" },
    );
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      model: "ensemble",
      applied: 1,
    });
    const shown = await (await fetch(`${base}/monitoring/drift/status`))
      .json();
    assert.equal(shown.models[0].predictions, 1);
    const get = await fetch(`${base}/monitoring/drift/update`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    await get.body?.cancel();
    // The route label is the template, never the alias or the query.
    const text = await registry.metrics();
    assert.match(
      text,
      /^http_requests_total\{method="POST",route="\/drift\/update",status="200"\} 1$/m,
    );
    assert.match(
      text,
      /^http_requests_total\{method="GET",route="\/drift\/status",status="200"\} 1$/m,
    );
    assert.doesNotMatch(text, /route="\/monitoring/);
  } finally {
    await server.shutdown();
    await registry.close();
  }
});

Deno.test("POST /drift/update takes a JSON batch, labels as numbers or strings", async () => {
  await withServer([ENSEMBLE, PRICE], async (fetchPath) => {
    const response = await fetchPath(
      "/drift/update",
      post({
        model: "ensemble",
        updates: [
          { prediction: 1, actual: 0, proba: 0.8 },
          { prediction: "1", actual: "1", proba: 0.9 },
          { prediction: 0, actual: "0" },
        ],
      }, { "content-type": "application/json; charset=utf-8" }),
    );
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      model: "ensemble",
      applied: 3,
    });
    const model = await status(fetchPath);
    assert.equal(model.predictions, 3);
    assert.deepEqual(model.classes, ["0", "1"]);
    assert.equal(model.quality.lifetime.accuracy, 2 / 3);
    // The model may come from the query, the updates from the body.
    const price = await fetchPath(
      "/drift/update?model=price",
      post({ updates: [{ prediction: 10.5, actual: 10 }] }),
    );
    assert.deepEqual(await price.json(), { model: "price", applied: 1 });
    const regression = await fetchPath(
      "/drift/update?model=price&prediction=11&actual=12.5",
      post(),
    );
    assert.deepEqual(await regression.json(), { model: "price", applied: 1 });
    assert.equal((await status(fetchPath, "price")).predictions, 2);
  });
});

Deno.test("POST /drift/update refuses bad input with 400 naming the field and reason, and applies nothing", async (t) => {
  await withServer([ENSEMBLE, PRICE], async (fetchPath) => {
    const cases: [
      what: string,
      path: string,
      init: RequestInit,
      field: string,
      reason: RegExp,
    ][] = [
      [
        "a missing actual",
        "/drift/update?model=ensemble&prediction=1",
        post(),
        "actual",
        /is missing/,
      ],
      [
        "an empty prediction",
        "/drift/update?model=ensemble&prediction=&actual=1",
        post(),
        "prediction",
        /is empty/,
      ],
      [
        "a non-numeric proba",
        "/drift/update?model=ensemble&prediction=1&actual=0&proba=high",
        post(),
        "proba",
        /number from 0 to 1, got "high"/,
      ],
      [
        "an empty proba",
        "/drift/update?model=ensemble&prediction=1&actual=0&proba=",
        post(),
        "proba",
        /number from 0 to 1, got ""/,
      ],
      [
        "a proba above 1",
        "/drift/update?model=ensemble&prediction=1&actual=0&proba=1.5",
        post(),
        "proba",
        /from 0 to 1, got 1\.5/,
      ],
      [
        "an undeclared class in the query",
        "/drift/update?model=ensemble&prediction=2&actual=0",
        post(),
        "prediction",
        /not a declared class/,
      ],
      [
        "a non-numeric residual value",
        "/drift/update?model=price&prediction=cheap&actual=10",
        post(),
        "prediction",
        /must be a number .*"cheap"/,
      ],
      [
        "a residual value given as a string in JSON",
        "/drift/update",
        post({ model: "price", updates: [{ prediction: "10", actual: 10 }] }),
        "updates[0].prediction",
        /finite number/,
      ],
      [
        "a body that is not JSON",
        "/drift/update",
        post("{updates: oops"),
        "body",
        /is not JSON/,
      ],
      [
        "a body that is not UTF-8",
        "/drift/update",
        {
          method: "POST",
          body: new Uint8Array([0x7b, 0xff, 0x7d]),
          headers: { "content-type": "application/json" },
        },
        "body",
        /is not JSON/,
      ],
      [
        "a body that is an array",
        "/drift/update",
        post([{ prediction: 1, actual: 0 }]),
        "body",
        /must be an object/,
      ],
      [
        "no updates",
        "/drift/update",
        post({ model: "ensemble" }),
        "updates",
        /is missing/,
      ],
      [
        "updates not an array",
        "/drift/update",
        post({ model: "ensemble", updates: { prediction: 1, actual: 0 } }),
        "updates",
        /must be an array/,
      ],
      [
        "an empty batch",
        "/drift/update",
        post({ model: "ensemble", updates: [] }),
        "updates",
        /must not be empty/,
      ],
      [
        "an update that is not an object",
        "/drift/update",
        post({ model: "ensemble", updates: [{ prediction: 1, actual: 0 }, 7] }),
        "updates[1]",
        /must be an object/,
      ],
      [
        "an unknown field of an update",
        "/drift/update",
        post({
          model: "ensemble",
          updates: [{ prediction: 1, actual: 0, probability: 0.8 }],
        }),
        "updates[0].probability",
        /not a field of an update/,
      ],
      [
        "an unknown field of the body",
        "/drift/update",
        post({ model: "ensemble", update: [] }),
        "update",
        /not a field of the body/,
      ],
      [
        "a missing field late in a batch",
        "/drift/update",
        post({
          model: "ensemble",
          updates: [
            { prediction: 1, actual: 1 },
            { prediction: 0, actual: 0 },
            { prediction: 1 },
          ],
        }),
        "updates[2].actual",
        /is missing/,
      ],
      [
        "a proba out of range late in a batch",
        "/drift/update",
        post({
          model: "ensemble",
          updates: [
            { prediction: 1, actual: 1, proba: 0.5 },
            { prediction: 1, actual: 1, proba: -0.1 },
          ],
        }),
        "updates[1].proba",
        /from 0 to 1, got -0\.1/,
      ],
      [
        "an undeclared class late in a batch",
        "/drift/update",
        post({
          model: "ensemble",
          updates: [{ prediction: 1, actual: 1 }, { prediction: 1, actual: 3 }],
        }),
        "updates[1].actual",
        /not a declared class/,
      ],
      [
        "a model that is not a string",
        "/drift/update",
        post({ model: 1, updates: [{ prediction: 1, actual: 1 }] }),
        "model",
        /must be a string/,
      ],
      [
        "models that differ between query and body",
        "/drift/update?model=price",
        post({ model: "ensemble", updates: [{ prediction: 1, actual: 1 }] }),
        "model",
        /differs between the query/,
      ],
      [
        "updates in both the query and the body",
        "/drift/update?prediction=1&actual=1",
        post({ model: "ensemble", updates: [{ prediction: 1, actual: 1 }] }),
        "prediction",
        /cannot be in the query/,
      ],
      [
        "neither a body nor query parameters",
        "/drift/update",
        post(),
        "updates",
        /are missing/,
      ],
      [
        "a model but no update",
        "/drift/update?model=ensemble",
        post(),
        "updates",
        /are missing/,
      ],
      [
        "no model among two",
        "/drift/update?prediction=1&actual=0",
        post(),
        "model",
        /is required when the server has 2 models/,
      ],
    ];
    for (const [what, path, init, field, reason] of cases) {
      await t.step(what, async () => {
        const response = await fetchPath(path, init);
        const body = await response.json();
        assert.equal(response.status, 400, JSON.stringify(body));
        assert.equal(body.field, field);
        assert.match(body.reason, reason);
        assert.equal(
          body.error,
          `Invalid drift update: ${field} ${body.reason}`,
        );
      });
    }
    assert.equal((await status(fetchPath)).predictions, 0);
    assert.equal((await status(fetchPath, "price")).predictions, 0);
  });
});

Deno.test("POST /drift/update answers 404, 413, 415 and 405 where they belong", async (t) => {
  await withServer([ENSEMBLE], async (fetchPath, _registry, port) => {
    await t.step(
      "404 for an unknown model, in the query or the body",
      async () => {
        for (
          const [path, init] of [
            ["/drift/update?model=nope&prediction=1&actual=0", post()],
            ["/drift/update", post({ model: "nope", updates: [{}] })],
            ["/drift/status?model=nope", {}],
            ["/drift/reset?model=nope", post()],
          ] as const
        ) {
          const response = await fetchPath(path, init);
          assert.equal(response.status, 404, path);
          const body = await response.json();
          assert.equal(body.field, "model");
          assert.match(
            body.reason,
            /names no model of this server \("ensemble"\)/,
          );
        }
      },
    );
    await t.step(
      "413 for a body over maxBodyBytes, declared or streamed",
      async () => {
        const big = JSON.stringify({
          model: "ensemble",
          updates: Array.from({ length: 200 }, () => ({
            prediction: 1,
            actual: 0,
          })),
        });
        assert.ok(big.length > 1024);
        const declared = await fetchPath("/drift/update", post(big));
        assert.equal(declared.status, 413);
        await declared.body?.cancel();
        const bytes = new TextEncoder().encode(big);
        const streamed = await fetchPath("/drift/update", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: new ReadableStream({
            start(controller) {
              for (let at = 0; at < bytes.length; at += 256) {
                controller.enqueue(bytes.slice(at, at + 256));
              }
              controller.close();
            },
          }),
        });
        assert.equal(streamed.status, 413);
        assert.match((await streamed.json()).error, /larger than 1024 bytes/);
      },
    );
    await t.step("415 for a body that is not application/json", async () => {
      for (
        const headers of [
          { "content-type": "text/plain" },
          { "content-type": "application/x-www-form-urlencoded" },
          {},
        ]
      ) {
        const response = await fetchPath("/drift/update", {
          method: "POST",
          body: '{"model":"ensemble","updates":[{"prediction":1,"actual":1}]}',
          headers,
        });
        assert.equal(response.status, 415, JSON.stringify(headers));
        await response.body?.cancel();
      }
    });
    await t.step("405 for the wrong method", async () => {
      const get = await fetchPath("/drift/update");
      assert.equal(get.status, 405);
      assert.equal(get.headers.get("allow"), "POST");
      await get.body?.cancel();
      const reset = await fetchPath("/drift/reset", { method: "PUT" });
      assert.equal(reset.status, 405);
      await reset.body?.cancel();
      const postStatus = await fetchPath("/drift/status", post());
      assert.equal(postStatus.status, 405);
      assert.equal(postStatus.headers.get("allow"), "GET, HEAD");
      await postStatus.body?.cancel();
    });
    await t.step(
      "HEAD /drift/status answers the headers of a GET",
      async () => {
        const head = await rawRequest(
          port,
          `HEAD /drift/status HTTP/1.1\r\nHost: 127.0.0.1:${port}`,
        );
        assert.equal(head.status, 200);
        assert.equal(head.body.byteLength, 0);
      },
    );
    assert.equal((await status(fetchPath)).predictions, 0);
  }, { maxBodyBytes: 1024 });
});

Deno.test("POST /drift/update answers 408 when the body does not arrive in time", async () => {
  await withServer([ENSEMBLE], async (_fetchPath, _registry, port) => {
    // A body announced and never sent: the server answers without waiting
    // for the connection to end, so read the status line only.
    const connection = await Deno.connect({ hostname: "127.0.0.1", port });
    try {
      await connection.write(new TextEncoder().encode(
        "POST /drift/update HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{",
      ));
      const buffer = new Uint8Array(4096);
      const read = await connection.read(buffer);
      const head = new TextDecoder().decode(buffer.subarray(0, read ?? 0));
      assert.match(head, /^HTTP\/1\.1 408 /);
    } finally {
      connection.close();
    }
  }, { requestTimeoutMs: 50 });
});

Deno.test("GET /drift/status lists every model, NaN figures as null", async () => {
  await withServer([ENSEMBLE, PRICE], async (fetchPath) => {
    const response = await fetchPath("/drift/status");
    assert.equal(response.status, 200);
    const { models } = await response.json();
    assert.deepEqual(models.map((m: { name: string }) => m.name), [
      "ensemble",
      "price",
    ]);
    const [ensemble, price] = models;
    assert.equal(ensemble.predictions, 0);
    assert.equal(ensemble.quality.recent.accuracy, null);
    assert.equal(ensemble.quality.lifetime.f1Score, null);
    assert.equal(price.regression, true);
    assert.equal(price.quality, undefined);
    assert.equal(price.detectors[0].kind, "page_hinkley");
    assert.equal(price.detectors[0].input, "residual");
  });
});

Deno.test("GET /drift/status is a read route: it takes the server's read credentials", async () => {
  await withServer([ENSEMBLE], async (fetchPath) => {
    const refused = await fetchPath("/drift/status");
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    const allowed = await fetchPath("/drift/status", {
      headers: { authorization: "Bearer r34d" },
    });
    assert.equal(allowed.status, 200);
    await allowed.body?.cancel();
    // The read token is no write token, and the write routes ignore it.
    const write = await fetchPath(
      "/drift/update?prediction=1&actual=1",
      { method: "POST", headers: { authorization: "Bearer r34d" } },
    );
    assert.equal(write.status, 401);
    await write.body?.cancel();
  }, { auth: { type: "bearer", token: "r34d" }, writeToken: "wr1te" });
});

Deno.test("POST /drift/update and /drift/reset need the write token when one is set", async () => {
  await withServer([ENSEMBLE], async (fetchPath) => {
    for (
      const path of ["/drift/update?prediction=1&actual=1", "/drift/reset"]
    ) {
      for (
        const headers of [
          {},
          { authorization: "Bearer wrong" },
          { authorization: "Basic d3IxdGU6" },
          { authorization: "Bearer wr1te " + "x" },
        ]
      ) {
        const response = await fetchPath(path, { method: "POST", headers });
        assert.equal(
          response.status,
          401,
          `${path} ${JSON.stringify(headers)}`,
        );
        assert.equal(
          response.headers.get("www-authenticate"),
          'Bearer realm="vigil"',
        );
        await response.body?.cancel();
      }
    }
    assert.equal((await status(fetchPath)).predictions, 0);
    const allowed = await fetchPath("/drift/update?prediction=1&actual=1", {
      method: "POST",
      headers: { authorization: "bearer   wr1te" },
    });
    assert.equal(allowed.status, 200);
    await allowed.body?.cancel();
    assert.equal((await status(fetchPath)).predictions, 1);
  }, { writeToken: "wr1te" });
});

Deno.test("Without a write token, writes are open on loopback only", async (t) => {
  await t.step("isLoopback() knows 127.0.0.0/8, ::1 and localhost", () => {
    for (
      const host of [
        "127.0.0.1",
        "127.255.0.9",
        "127.1",
        "localhost",
        "LOCALHOST",
        "localhost.",
        "::1",
        "[::1]",
        "0:0:0:0:0:0:0:1",
        "::ffff:127.0.0.1",
      ]
    ) {
      assert.ok(isLoopback(host), host);
    }
    for (
      const host of [
        "0.0.0.0",
        "::",
        "[::]",
        "10.0.0.7",
        "128.0.0.1",
        "192.168.1.1",
        "::2",
        "::ffff:10.0.0.1",
        "example.com",
        "localhost.example.com",
        "127.0.0.1.nip.io",
        "",
      ]
    ) {
      assert.ok(!isLoopback(host), host);
    }
  });
  await t.step("writeAccess() decides from the address and the token", () => {
    assert.deepEqual(writeAccess("127.0.0.1", ""), { type: "loopback" });
    assert.deepEqual(writeAccess("::1", ""), { type: "loopback" });
    assert.deepEqual(writeAccess("0.0.0.0", ""), { type: "refused" });
    assert.deepEqual(writeAccess("10.0.0.7", ""), { type: "refused" });
    assert.deepEqual(writeAccess(undefined, ""), { type: "refused" });
    assert.deepEqual(writeAccess("0.0.0.0", "t"), {
      type: "token",
      token: "t",
    });
    assert.deepEqual(writeAccess("127.0.0.1", "t"), {
      type: "token",
      token: "t",
    });
  });
  await t.step(
    "a handler served off loopback answers 403 to writes, not to reads",
    async () => {
      const registry = new Registry({ logger: recordingLogger() });
      registry.model(ENSEMBLE);
      try {
        for (const hostname of ["0.0.0.0", "10.0.0.7", undefined]) {
          const handler = createHandler({
            registry,
            logger: recordingLogger(),
            ...(hostname === undefined ? {} : { hostname }),
          });
          for (
            const path of [
              "/drift/update?prediction=1&actual=1",
              "/drift/reset",
            ]
          ) {
            const response = await handler(
              new Request(`http://x${path}`, { method: "POST" }),
            );
            assert.equal(response.status, 403, `${hostname} ${path}`);
            assert.match(
              (await response.json()).error,
              /no write token is set/,
            );
          }
          const read = await handler(new Request("http://x/drift/status"));
          assert.equal(read.status, 200);
          await read.body?.cancel();
        }
        assert.equal(
          (await registry.getModel("ensemble")!.status()).predictions,
          0,
        );
      } finally {
        await registry.close();
      }
    },
  );
  await t.step(
    "serve() on 127.0.0.1 without a token lets writes in",
    async () => {
      await withServer([ENSEMBLE], async (fetchPath) => {
        const response = await fetchPath("/drift/reset", { method: "POST" });
        assert.equal(response.status, 200);
        await response.body?.cancel();
      });
    },
  );
});

Deno.test("POST /drift/reset restarts the detectors of one model or all, and answers once done", async () => {
  await withServer([ENSEMBLE, PRICE], async (fetchPath) => {
    const updates = Array.from({ length: 40 }, (_, i) => ({
      prediction: i % 2,
      actual: 0,
      proba: 0.7,
    }));
    const applied = await fetchPath(
      "/drift/update",
      post({ model: "ensemble", updates }),
    );
    assert.equal(applied.status, 200);
    await applied.body?.cancel();
    const before = await status(fetchPath);
    assert.equal(before.predictions, 40);
    assert.ok(before.detectors[0].n > 0);
    const one = await fetchPath("/drift/reset?model=ensemble", post());
    assert.equal(one.status, 200);
    assert.deepEqual(await one.json(), { reset: ["ensemble"] });
    const after = await status(fetchPath);
    assert.equal(after.predictions, 40, "counters go on counting");
    assert.equal(after.detectors[0].n, 0);
    assert.equal(after.detectors[0].updates, 40);
    assert.equal(after.quality.recent.predictions, 0);
    assert.equal(after.quality.lifetime.predictions, 40);
    const all = await fetchPath("/drift/reset", post());
    assert.deepEqual(await all.json(), { reset: ["ensemble", "price"] });
  });
});

Deno.test("POST /drift/update answers 503 with Retry-After when the workers' batches are full", async () => {
  const full = {
    name: "full",
    regression: false,
    classes: undefined,
    recordAll() {
      throw new RangeError("no room");
    },
  } as unknown as Model;
  const registry = {
    models: () => [full],
    getModel: (name: string) => name === "full" ? full : undefined,
  } as unknown as Registry;
  const routes = driftRoutes({ registry, logger: recordingLogger() });
  const response = await routes["/drift/update"](
    new Request("http://x/drift/update?prediction=1&actual=1", {
      method: "POST",
    }),
  );
  assert.equal(response.status, 503);
  assert.equal(response.headers.get("retry-after"), "1");
  await response.body?.cancel();
});
