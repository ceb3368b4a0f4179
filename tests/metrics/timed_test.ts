import assert from "node:assert/strict";
import { Registry } from "../../src/metrics/registry.ts";
import { timed } from "../../src/metrics/timed.ts";

/** `<name>_count{labels}` and `_sum` as the registry renders them. */
async function figures(
  registry: Registry,
  series: string,
): Promise<{ count: number; sum: number }> {
  const text = await registry.metrics();
  const value = (suffix: string) => {
    const [name, labels = ""] = series.split("{");
    const line = text.split("\n").find((l) =>
      l.startsWith(`${name}${suffix}${labels === "" ? " " : `{${labels}`}`)
    );
    return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ")));
  };
  return { count: value("_count"), sum: value("_sum") };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test("timed() records the seconds of sync and async calls under their outcome, passing results and errors through", async () => {
  const registry = new Registry();
  try {
    const h = registry.histogram({
      name: "work_seconds",
      help: "Work",
      labelNames: ["outcome"],
    });
    assert.equal(timed(h, () => 42), 42);
    assert.throws(() => timed(h, () => assert.fail("boom")), /boom/);
    assert.equal(await timed(h, () => sleep(20).then(() => "late")), "late");
    await assert.rejects(
      timed(h, () => sleep(20).then(() => Promise.reject(new Error("gone")))),
      /gone/,
    );
    const ok = await figures(registry, 'work_seconds{outcome="success"}');
    const bad = await figures(registry, 'work_seconds{outcome="failure"}');
    assert.equal(ok.count, 2);
    assert.equal(bad.count, 2);
    // The async calls slept 20 ms each: timed until they settled.
    assert.ok(ok.sum >= 0.015, `success sum ${ok.sum}`);
    assert.ok(bad.sum >= 0.015, `failure sum ${bad.sum}`);
  } finally {
    await registry.close();
  }
});

Deno.test("timed() takes a label-less histogram, a summary and a bound child, and refuses other labels", async () => {
  const registry = new Registry();
  try {
    const plain = registry.histogram({ name: "plain_seconds", help: "Plain" });
    const summary = registry.summary({ name: "q_seconds", help: "Q" });
    const routed = registry.histogram({
      name: "routed_seconds",
      help: "Routed",
      labelNames: ["route", "outcome"],
    });
    timed(plain, () => undefined);
    timed(summary, () => undefined);
    timed(routed.labels({ route: "/a", outcome: "success" }), () => undefined);
    assert.equal((await figures(registry, "plain_seconds")).count, 1);
    assert.equal((await figures(registry, "q_seconds")).count, 1);
    assert.equal(
      (await figures(registry, 'routed_seconds{route="/a",outcome="success"}'))
        .count,
      1,
    );
    assert.throws(
      // Labels other than outcome must be given or bound first.
      () => timed(routed, () => undefined),
      {
        name: "TypeError",
        message:
          'Cannot time with "routed_seconds": its labels (route, outcome) but "outcome" must be given in options.labels or bound first with .labels({...}), got {}',
      },
    );
  } finally {
    await registry.close();
  }
});

Deno.test("@timed() times every call of a method, keeping its this and arguments", async () => {
  const registry = new Registry();
  try {
    const h = registry.histogram({
      name: "predict_seconds",
      help: "Predict",
      labelNames: ["outcome"],
    });
    class Model {
      constructor(readonly bias: number) {}
      @timed(h)
      async predict(x: number): Promise<number> {
        await sleep(5);
        if (x < 0) throw new RangeError("negative");
        return x + this.bias;
      }
    }
    const model = new Model(1);
    assert.equal(await model.predict(2), 3);
    assert.equal(await model.predict(4), 5);
    await assert.rejects(model.predict(-1), RangeError);
    assert.equal(
      (await figures(registry, 'predict_seconds{outcome="success"}')).count,
      2,
    );
    assert.equal(
      (await figures(registry, 'predict_seconds{outcome="failure"}')).count,
      1,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("timed() times a Promise until it settles and passes other thenables through untouched", async () => {
  const r = new Registry();
  try {
    const h = r.histogram({
      name: "t_seconds",
      help: "t",
      labelNames: ["outcome"],
    });
    let executed = 0;
    class Query {
      where(): this {
        return this;
      }
      then<R>(resolve: (rows: number[]) => R): Promise<R> {
        executed++;
        return Promise.resolve([1]).then(resolve);
      }
    }
    const query = timed(h, () => new Query());
    assert.ok(query instanceof Query, "the same lazy thenable");
    assert.equal(query.where(), query);
    assert.equal(executed, 0, "not executed by timed()");
    const custom = { then: (resolve: (value: number) => void) => resolve(42) };
    assert.equal(await timed(h, () => custom), 42);
    assert.equal(await timed(h, () => Promise.resolve(7)), 7);
    await assert.rejects(
      timed(h, () => Promise.reject(new Error("late"))),
      /late/,
    );
    assert.equal(
      (await figures(r, 't_seconds{outcome="success"}')).count,
      3,
    );
    assert.equal(
      (await figures(r, 't_seconds{outcome="failure"}')).count,
      1,
    );
  } finally {
    await r.close();
  }
});

Deno.test("timed() fills outcome next to the labels given in its options", async () => {
  const r = new Registry();
  try {
    const h = r.histogram({
      name: "db_seconds",
      help: "d",
      labelNames: ["operation", "outcome"],
    });
    assert.equal(timed(h, () => 1, { labels: { operation: "get" } }), 1);
    assert.throws(
      () =>
        timed(h, () => {
          throw new Error("down");
        }, { labels: { operation: "put" } }),
      /down/,
    );
    assert.equal(
      (await figures(r, 'db_seconds{operation="get",outcome="success"}'))
        .count,
      1,
    );
    assert.equal(
      (await figures(r, 'db_seconds{operation="put",outcome="failure"}'))
        .count,
      1,
    );
    assert.throws(() => timed(h, () => 1), {
      name: "TypeError",
      message: /Cannot time with "db_seconds": .*operation/,
    });
    assert.throws(
      () =>
        timed(h, () => 1, {
          labels: { operation: "x", outcome: "y" } as never,
        }),
      { name: "TypeError", message: /outcome/ },
    );
    const plain = r.histogram({ name: "p_seconds", help: "p" });
    assert.throws(
      () => timed(plain, () => 1, { labels: { operation: "x" } }),
      { name: "TypeError", message: /"p_seconds"/ },
    );
  } finally {
    await r.close();
  }
});

Deno.test("@timed() refuses anything but a method", () => {
  const r = new Registry();
  try {
    const h = r.histogram({ name: "f_seconds", help: "f" });
    const decorate = timed(h) as unknown as (
      value: unknown,
      context: { kind: string; name: string },
    ) => unknown;
    for (const kind of ["field", "getter", "setter", "accessor", "class"]) {
      assert.throws(() => decorate(undefined, { kind, name: "x" }), {
        name: "TypeError",
        message: new RegExp(`decorates methods only, got a ${kind}`),
      });
    }
  } finally {
    void r.close();
  }
});
