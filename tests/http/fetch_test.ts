import assert from "node:assert/strict";
import {
  httpClientMetrics,
  instrumentFetch,
  OTHER_HOST,
} from "../../src/http/mod.ts";
import { registry } from "./_shared.ts";

/** A server on 127.0.0.1 answering with the status in the path. */
async function serving(fn: (port: number) => Promise<void>): Promise<void> {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    (request) =>
      new Response(request.method, {
        status: Number(new URL(request.url).pathname.slice(1)) || 200,
      }),
  );
  try {
    await fn(server.addr.port);
  } finally {
    await server.shutdown();
  }
}

/** A port on 127.0.0.1 nothing listens on: bound, then closed. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

Deno.test("instrumentFetch() counts outbound requests by allowed host, method and status", async () => {
  const r = registry();
  try {
    const metrics = httpClientMetrics(r);
    const allowed = instrumentFetch(fetch, {
      metrics,
      hosts: ["127.0.0.1"],
    });
    const elsewhere = instrumentFetch(fetch, {
      metrics,
      hosts: ["api.example.com"],
    });
    await serving(async (port) => {
      const base = `http://127.0.0.1:${port}`;
      assert.equal(await (await allowed(`${base}/200`)).text(), "GET");
      await (await allowed(new URL(`${base}/201`), { method: "POST" })).text();
      await (await allowed(new Request(`${base}/404`, { method: "PUT" })))
        .text();
      await (await allowed(`${base}/200`, { method: "BREW" })).text();
      await (await elsewhere(`${base}/503`)).text();
    });
    const text = await r.metrics();
    for (
      const line of [
        'http_client_requests_total{host="127.0.0.1",method="GET",status="200"} 1',
        'http_client_requests_total{host="127.0.0.1",method="POST",status="201"} 1',
        'http_client_requests_total{host="127.0.0.1",method="PUT",status="404"} 1',
        'http_client_requests_total{host="127.0.0.1",method="OTHER",status="200"} 1',
        `http_client_requests_total{host="${OTHER_HOST}",method="GET",status="503"} 1`,
        'http_client_request_duration_seconds_count{host="127.0.0.1",method="GET"} 1',
        `http_client_request_duration_seconds_count{host="${OTHER_HOST}",method="GET"} 1`,
      ]
    ) {
      assert.ok(text.split("\n").includes(line), `${line} not in:\n${text}`);
    }
    assert.ok(!text.includes("api.example.com"));
  } finally {
    await r.close();
  }
});

Deno.test('instrumentFetch() keeps host:port entries and maps other ports to "other"', async () => {
  const r = registry();
  try {
    await serving(async (port) => {
      const api = instrumentFetch(fetch, {
        metrics: r,
        hosts: [`127.0.0.1:${port}`],
      });
      await (await api(`http://127.0.0.1:${port}/202`)).body?.cancel();
      const other = closedPort();
      await assert.rejects(api(`http://127.0.0.1:${other}/`), TypeError);
    });
    const text = await r.metrics();
    assert.match(
      text,
      /^http_client_requests_total\{host="127\.0\.0\.1:\d+",method="GET",status="202"\} 1$/m,
    );
    assert.match(
      text,
      /^http_client_requests_total\{host="other",method="GET",status="error"\} 1$/m,
    );
  } finally {
    await r.close();
  }
});

Deno.test('instrumentFetch() counts a refused connection as status "error" and re-throws', async () => {
  const r = registry();
  try {
    const api = instrumentFetch(fetch, { metrics: r, hosts: ["127.0.0.1"] });
    const port = closedPort();
    await assert.rejects(
      api(`http://127.0.0.1:${port}/`, { method: "POST", body: "x" }),
      (error: unknown) => error instanceof TypeError,
    );
    const text = await r.metrics();
    assert.match(
      text,
      /^http_client_requests_total\{host="127\.0\.0\.1",method="POST",status="error"\} 1$/m,
    );
    assert.match(
      text,
      /^http_client_request_duration_seconds_count\{host="127\.0\.0\.1",method="POST"\} 1$/m,
    );
  } finally {
    await r.close();
  }
});

Deno.test("instrumentFetch() rejects an empty host in the allow list", () => {
  const r = registry();
  try {
    assert.throws(
      () => instrumentFetch(fetch, { metrics: r, hosts: [""] }),
      {
        name: "TypeError",
        message: /hosts must hold non-empty strings, got ""/,
      },
    );
  } finally {
    void r.close();
  }
});

Deno.test("instrumentFetch() matches allow-list entries by canonical host", async () => {
  const r = registry();
  try {
    const ok = () => Promise.resolve(new Response(null, { status: 204 }));
    const api = instrumentFetch(ok, {
      metrics: r,
      hosts: ["API.example.com:443", "::1", "[::2]:8080", "b.example"],
    });
    for (
      const url of [
        "https://api.example.com/",
        "https://api.example.com:443/x",
        "http://api.example.com/",
        "http://[::1]:9000/",
        "http://[::2]:8080/",
        "http://[::2]/",
        "http://b.example:81/",
      ]
    ) {
      await api(url);
    }
    const text = await r.metrics();
    const count = (host: string) =>
      Number(
        new RegExp(
          `^http_client_requests_total\\{host="${
            host.replace(/[[\].]/g, "\\$&")
          }",method="GET",status="204"\\} (\\d+)$`,
          "m",
        ).exec(text)?.[1] ?? 0,
      );
    assert.equal(count("api.example.com:443"), 2);
    assert.equal(count("[::1]"), 1);
    assert.equal(count("[::2]:8080"), 1);
    assert.equal(count("b.example"), 1);
    assert.equal(count("other"), 2);
  } finally {
    await r.close();
  }
});

Deno.test("instrumentFetch() refuses an allow-list entry with a scheme or a path", () => {
  const r = registry();
  try {
    for (const entry of ["https://x.example", "x.example/api", "a b"]) {
      assert.throws(
        () => instrumentFetch(fetch, { metrics: r, hosts: [entry] }),
        {
          name: "TypeError",
          message: new RegExp(
            `hosts must hold a host or host:port, got ${
              JSON.stringify(entry).replace(/[/.]/g, "\\$&")
            }`,
          ),
        },
      );
    }
  } finally {
    void r.close();
  }
});

Deno.test("instrumentFetch() does not count a Request whose body was already read", async () => {
  const r = registry();
  try {
    const api = instrumentFetch(fetch, { metrics: r, hosts: ["127.0.0.1"] });
    const request = new Request("http://127.0.0.1:9/", {
      method: "POST",
      body: "once",
    });
    await request.text();
    await assert.rejects(() => api(request), TypeError);
    assert.ok(!(await r.metrics()).includes("http_client_requests_total{"));
  } finally {
    await r.close();
  }
});
