import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { Registry } from "../../src/metrics/registry.ts";
import {
  CircuitBreaker,
  circuitBreakerKit,
  circuitBreakerMetrics,
  CircuitOpenError,
  fromOpossum,
} from "../../src/kits/circuit_breaker.ts";
import { assertMetrics, sampleValue } from "../../src/testing.ts";
import { ignoreWithoutPromtool } from "../_tools.ts";
import { assertKitRowParses, assertKitRules } from "./_kit_promtool.ts";

const setup = (registry: Registry) =>
  void circuitBreakerMetrics(registry, { name: "payments" });

Deno.test("circuitBreakerMetrics() sets the state, counts changes and failures per component, two breakers sharing the families", async () => {
  const registry = new Registry();
  try {
    const payments = circuitBreakerMetrics(registry, { name: "payments" });
    const search = circuitBreakerMetrics(registry, { name: "search" });
    payments.failure();
    payments.failure(2);
    payments.state("open");
    payments.state("open");
    payments.state("half_open");
    payments.state("open");
    payments.state("closed");
    search.state("half_open");
    await assertMetrics(
      registry,
      `
      # TYPE circuit_breaker_state gauge
      circuit_breaker_state{component="payments"} 0
      circuit_breaker_state{component="search"} 2
      # TYPE circuit_breaker_failures_total counter
      circuit_breaker_failures_total{component="payments"} 3
      circuit_breaker_failures_total{component="search"} 0
      # TYPE circuit_breaker_transitions_total counter
      circuit_breaker_transitions_total{component="payments",from="closed",to="open"} 1
      circuit_breaker_transitions_total{component="payments",from="open",to="half_open"} 1
      circuit_breaker_transitions_total{component="payments",from="half_open",to="open"} 1
      circuit_breaker_transitions_total{component="payments",from="half_open",to="closed"} 0
      circuit_breaker_transitions_total{component="payments",from="open",to="closed"} 1
      circuit_breaker_transitions_total{component="search",from="closed",to="open"} 0
      circuit_breaker_transitions_total{component="search",from="open",to="half_open"} 0
      circuit_breaker_transitions_total{component="search",from="half_open",to="open"} 0
      circuit_breaker_transitions_total{component="search",from="half_open",to="closed"} 0
      circuit_breaker_transitions_total{component="search",from="closed",to="half_open"} 1
      `,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("circuitBreakerMetrics() and CircuitBreaker refuse bad input, naming the field", async (t) => {
  const registry = new Registry();
  try {
    await t.step("an empty name", () => {
      assert.throws(() => circuitBreakerMetrics(registry, { name: "" }), {
        name: "TypeError",
        message:
          'Cannot create the circuit breaker kit: name must be a non-empty string, got ""',
      });
    });
    const metrics = circuitBreakerMetrics(registry, { name: "payments" });
    await t.step("an unknown state", () => {
      assert.throws(() => metrics.state("opened" as "open"), {
        name: "TypeError",
        message:
          'Cannot set the state of circuit breaker "payments": state must be "closed", "open" or "half_open", got "opened"',
      });
    });
    await t.step("breaker options", () => {
      assert.throws(
        () =>
          new CircuitBreaker(metrics, {
            failureThreshold: 0,
            resetTimeoutMs: 1000,
          }),
        {
          name: "RangeError",
          message:
            "Cannot create a circuit breaker: failureThreshold must be a whole number of at least 1, got 0",
        },
      );
      assert.throws(
        () =>
          new CircuitBreaker(metrics, {
            failureThreshold: 3,
            resetTimeoutMs: "30s" as unknown as number,
          }),
        {
          name: "TypeError",
          message:
            'Cannot create a circuit breaker: resetTimeoutMs must be a number, got "30s"',
        },
      );
      assert.throws(
        () =>
          new CircuitBreaker(metrics, {
            failureThreshold: 3,
            resetTimeoutMs: NaN,
          }),
        { name: "RangeError", message: /resetTimeoutMs must be in/ },
      );
      assert.throws(
        () =>
          new CircuitBreaker(metrics, {
            failureThreshold: 3,
            resetTimeoutMs: 1000,
            halfOpenMax: 1.5,
          }),
        { name: "RangeError", message: /halfOpenMax must be a whole number/ },
      );
    });
    await t.step("kit options", () => {
      assert.throws(() => circuitBreakerKit({ openFor: "2 minutes" }), {
        name: "TypeError",
        message:
          'Cannot create the circuit breaker kit: openFor must be a Prometheus duration such as "5m", got "2 minutes"',
      });
      assert.throws(
        () => circuitBreakerKit({ openSeverity: "page" as "critical" }),
        { name: "TypeError", message: /openSeverity must be/ },
      );
    });
  } finally {
    await registry.close();
  }
});

Deno.test("CircuitBreaker opens after consecutive failures, rejects while open, half-opens after the timeout and closes on a success", async (t) => {
  const registry = new Registry();
  try {
    let clock = 1000;
    const metrics = circuitBreakerMetrics(registry, { name: "payments" });
    const breaker = new CircuitBreaker(metrics, {
      failureThreshold: 3,
      resetTimeoutMs: 5000,
      now: () => clock,
    });
    const boom = () => {
      throw new Error("down");
    };
    const state = () =>
      sampleValue(registry, "circuit_breaker_state", { component: "payments" });

    await t.step("a success resets the count of consecutive failures", () => {
      assert.throws(() => breaker.call(boom), /down/);
      assert.throws(() => breaker.call(boom), /down/);
      assert.equal(breaker.call(() => 42), 42);
      assert.throws(() => breaker.call(boom), /down/);
      assert.throws(() => breaker.call(boom), /down/);
      assert.equal(breaker.state, "closed");
    });
    await t.step(
      "the threshold's failure opens it; async failures count",
      async () => {
        await assert.rejects(
          breaker.call(() => Promise.reject(new Error("timeout"))),
          /timeout/,
        );
        assert.equal(breaker.state, "open");
        assert.equal(await state(), 1);
      },
    );
    await t.step("open, it rejects without calling", () => {
      let called = false;
      clock += 4999;
      assert.throws(() => breaker.call(() => (called = true)), (e) => {
        assert.ok(e instanceof CircuitOpenError);
        assert.equal(e.name, "CircuitOpenError");
        assert.equal(e.component, "payments");
        assert.equal(e.state, "open");
        assert.equal(
          e.message,
          'Cannot call through circuit breaker "payments": it is open',
        );
        return true;
      });
      assert.equal(called, false);
    });
    await t.step(
      "after the timeout, one trial at a time; a failed trial reopens it",
      async () => {
        clock += 1;
        assert.equal(breaker.state, "half_open");
        assert.equal(await state(), 2);
        const { promise, reject } = Promise.withResolvers<never>();
        const trial = breaker.call(() => promise);
        assert.throws(() => breaker.call(() => 1), {
          name: "CircuitOpenError",
          message:
            'Cannot call through circuit breaker "payments": it is half open with its trial calls in flight',
        });
        reject(new Error("still down"));
        await assert.rejects(trial, /still down/);
        assert.equal(breaker.state, "open");
      },
    );
    await t.step(
      "a successful trial closes it; a late failure of an older call does not move it",
      async () => {
        clock += 5000;
        const { promise, resolve } = Promise.withResolvers<string>();
        const trial = breaker.call(() => promise);
        resolve("ok");
        assert.equal(await trial, "ok");
        assert.equal(breaker.state, "closed");
        assert.equal(await state(), 0);
      },
    );
    await t.step("calls started before a change do not move it", async () => {
      const slow = Promise.withResolvers<never>();
      const late = breaker.call(() => slow.promise);
      for (let i = 0; i < 3; i++) assert.throws(() => breaker.call(boom));
      assert.equal(breaker.state, "open");
      clock += 5000;
      assert.equal(breaker.call(() => "trial"), "trial");
      assert.equal(breaker.state, "closed");
      slow.reject(new Error("late"));
      await assert.rejects(late, /late/);
      assert.equal(breaker.state, "closed");
    });
    await assertMetrics(
      registry,
      `
      # TYPE circuit_breaker_failures_total counter
      circuit_breaker_failures_total{component="payments"} 10
      # TYPE circuit_breaker_transitions_total counter
      circuit_breaker_transitions_total{component="payments",from="closed",to="open"} 2
      circuit_breaker_transitions_total{component="payments",from="open",to="half_open"} 3
      circuit_breaker_transitions_total{component="payments",from="half_open",to="open"} 1
      circuit_breaker_transitions_total{component="payments",from="half_open",to="closed"} 2
      `,
    );
  } finally {
    await registry.close();
  }
});

Deno.test("CircuitBreaker lets halfOpenMax trials through at once", async () => {
  const registry = new Registry();
  try {
    let clock = 0;
    const breaker = new CircuitBreaker(
      circuitBreakerMetrics(registry, { name: "search" }),
      {
        failureThreshold: 1,
        resetTimeoutMs: 10,
        halfOpenMax: 2,
        now: () => clock,
      },
    );
    assert.throws(() =>
      breaker.call(() => {
        throw new Error("x");
      })
    );
    clock = 10;
    const a = Promise.withResolvers<number>();
    const b = Promise.withResolvers<number>();
    const first = breaker.call(() => a.promise);
    const second = breaker.call(() => b.promise);
    assert.throws(() => breaker.call(() => 3), CircuitOpenError);
    a.resolve(1);
    b.resolve(2);
    assert.deepEqual(await Promise.all([first, second]), [1, 2]);
    assert.equal(breaker.state, "closed");
  } finally {
    await registry.close();
  }
});

Deno.test("CircuitBreaker counts a trial still hanging after the reset timeout as failed and lets a fresh one through", async () => {
  const registry = new Registry();
  try {
    let clock = 0;
    const breaker = new CircuitBreaker(
      circuitBreakerMetrics(registry, { name: "search" }),
      { failureThreshold: 1, resetTimeoutMs: 10, now: () => clock },
    );
    assert.throws(() =>
      breaker.call(() => {
        throw new Error("x");
      })
    );
    clock = 10;
    const hung = Promise.withResolvers<number>();
    const trial = breaker.call(() => hung.promise);
    assert.throws(() => breaker.call(() => 3), CircuitOpenError);
    clock = 25;
    // The hung trial failed by timeout: a new one goes through and closes.
    assert.equal(breaker.call(() => 4), 4);
    assert.equal(breaker.state, "closed");
    assert.equal(
      await sampleValue(registry, "circuit_breaker_failures_total", {
        component: "search",
      }),
      2,
    );
    // Its late outcome changes nothing.
    hung.resolve(5);
    assert.equal(await trial, 5);
    assert.equal(breaker.state, "closed");
  } finally {
    await registry.close();
  }
});

Deno.test("fromOpossum() reports an opossum-shaped breaker's events until stopped", async () => {
  const registry = new Registry();
  try {
    const breaker = Object.assign(new EventEmitter(), {
      opened: true,
      halfOpen: false,
    });
    const stop = fromOpossum(
      breaker,
      circuitBreakerMetrics(registry, { name: "search" }),
    );
    breaker.emit("failure", new Error("x"));
    breaker.emit("halfOpen", 1000);
    breaker.emit("close");
    breaker.emit("failure");
    stop();
    breaker.emit("open");
    assert.equal(breaker.listenerCount("open"), 0);
    await assertMetrics(
      registry,
      `
      # TYPE circuit_breaker_state gauge
      circuit_breaker_state{component="search"} 0
      # TYPE circuit_breaker_failures_total counter
      circuit_breaker_failures_total{component="search"} 2
      # TYPE circuit_breaker_transitions_total counter
      circuit_breaker_transitions_total{component="search",from="closed",to="open"} 1
      circuit_breaker_transitions_total{component="search",from="open",to="half_open"} 1
      circuit_breaker_transitions_total{component="search",from="half_open",to="open"} 0
      circuit_breaker_transitions_total{component="search",from="half_open",to="closed"} 1
      `,
    );
  } finally {
    await registry.close();
  }
});

Deno.test({
  name:
    "circuitBreakerKit() rules pass promtool: CircuitBreakerOpen fires when open for openFor, silent when it half-opens sooner",
  ignore: await ignoreWithoutPromtool(),
  async fn(t) {
    for (
      const options of [{}, {
        openFor: "5m",
        openSeverity: "critical" as const,
      }]
    ) {
      await t.step(JSON.stringify(options), async () => {
        const rules = await assertKitRules(circuitBreakerKit(options), setup);
        assert.match(rules, /circuit_breaker_state\{job="api"\} == 1/);
      });
    }
  },
});

Deno.test({
  name: "circuitBreakerKit() row's queries parse in promtool",
  ignore: await ignoreWithoutPromtool(),
  fn: () => assertKitRowParses(circuitBreakerKit(), setup),
});

Deno.test("a second circuitBreakerMetrics() call for a component takes up its state", async () => {
  const registry = new Registry();
  try {
    circuitBreakerMetrics(registry, { name: "payments" }).state("open");
    const again = circuitBreakerMetrics(registry, { name: "payments" });
    assert.equal(
      await sampleValue(registry, "circuit_breaker_state", {
        component: "payments",
      }),
      1,
    );
    again.state("closed");
    assert.equal(
      await sampleValue(registry, "circuit_breaker_transitions_total", {
        component: "payments",
        from: "open",
        to: "closed",
      }),
      1,
    );
  } finally {
    await registry.close();
  }
});
