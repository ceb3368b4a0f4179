import assert from "node:assert/strict";
import { type SystemFigures, SystemMonitor } from "../../src/health/mod.ts";

const KEYS = [
  "cpuPercent",
  "diskPercent",
  "loadAverage",
  "memoryPercent",
  "systemMemoryPercent",
  "uptimeSeconds",
];

function assertPercent(value: number | null, name: string): void {
  assert.ok(
    typeof value === "number" && value >= 0 && value <= 100,
    `${name}: ${value}`,
  );
}

Deno.test("SystemMonitor.figures() reads every figure with --allow-sys and --allow-read", () => {
  const monitor = new SystemMonitor();
  const figures: SystemFigures = monitor.figures();
  assert.deepEqual(Object.keys(figures).sort(), KEYS);
  // No "> 0": rounded to 0.1, a small process on a large machine shows 0.
  assertPercent(figures.memoryPercent, "memoryPercent");
  assertPercent(figures.systemMemoryPercent, "systemMemoryPercent");
  assertPercent(figures.diskPercent, "diskPercent");
  assert.ok(figures.uptimeSeconds > 0);
  if (Deno.build.os === "windows") assert.equal(figures.loadAverage, null);
  else {
    assert.equal(figures.loadAverage?.length, 3);
    for (const load of figures.loadAverage ?? []) assert.ok(load >= 0);
  }
});

/** How many digits a number shows after the decimal point. */
function decimals(value: number): number {
  return String(value).split(".")[1]?.length ?? 0;
}

Deno.test("SystemMonitor.figures() rounds: percentages to 0.1, load to 0.01, uptime to the ms", () => {
  const monitor = new SystemMonitor();
  // Work between readings so that the CPU figure is an uneven number.
  let sink = 0;
  for (let i = 0; i < 1e6; i++) sink += Math.sqrt(i);
  assert.ok(sink > 0);
  for (let reading = 0; reading < 3; reading++) {
    const figures = monitor.figures();
    const precision: [string, number | null | undefined, number][] = [
      ["cpuPercent", figures.cpuPercent, 1],
      ["memoryPercent", figures.memoryPercent, 1],
      ["systemMemoryPercent", figures.systemMemoryPercent, 1],
      ["diskPercent", figures.diskPercent, 1],
      ["loadAverage[0]", figures.loadAverage?.[0], 2],
      ["loadAverage[1]", figures.loadAverage?.[1], 2],
      ["loadAverage[2]", figures.loadAverage?.[2], 2],
      ["uptimeSeconds", figures.uptimeSeconds, 3],
    ];
    for (const [name, value, digits] of precision) {
      if (value === null || value === undefined) continue;
      assert.ok(
        decimals(value) <= digits,
        `${name} is ${value}, finer than ${digits} decimals`,
      );
    }
  }
});

Deno.test("SystemMonitor.figures() measures CPU use since the previous reading", () => {
  const monitor = new SystemMonitor();
  monitor.figures();
  // Burn CPU until the process clock has surely moved.
  let sink = 0;
  for (let i = 0; i < 2e7; i++) sink += Math.sqrt(i);
  assert.ok(sink > 0);
  const { cpuPercent } = monitor.figures();
  assert.ok(typeof cpuPercent === "number" && cpuPercent > 0, `${cpuPercent}`);
});

Deno.test({
  name:
    "SystemMonitor.figures() gives null, not an error, for figures it may not read",
  permissions: { sys: false, read: false },
  fn: () => {
    const figures = new SystemMonitor().figures();
    assert.deepEqual(Object.keys(figures).sort(), KEYS);
    assert.equal(figures.memoryPercent, null);
    assert.equal(figures.systemMemoryPercent, null);
    assert.equal(figures.diskPercent, null);
    assert.equal(figures.loadAverage, null);
    assert.ok(figures.uptimeSeconds > 0);
  },
});

Deno.test({
  name: "SystemMonitor.figures() reads what --allow-sys grants and no more",
  permissions: { sys: ["systemMemoryInfo"], read: true },
  fn: () => {
    const figures = new SystemMonitor().figures();
    assertPercent(figures.memoryPercent, "memoryPercent");
    assertPercent(figures.systemMemoryPercent, "systemMemoryPercent");
    assert.equal(figures.diskPercent, null);
    assert.equal(figures.loadAverage, null);
  },
});

Deno.test("SystemMonitor gives a null disk figure for a path that does not exist", () => {
  const figures = new SystemMonitor({ diskPath: "/nonexistent/vigil-test" })
    .figures();
  assert.equal(figures.diskPercent, null);
});

Deno.test("SystemMonitor rejects an empty disk path", () => {
  assert.throws(() => new SystemMonitor({ diskPath: "" }), {
    name: "TypeError",
    message:
      'Cannot create system monitor: diskPath must be a non-empty string, got ""',
  });
});
