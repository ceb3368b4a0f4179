import assert from "node:assert/strict";
import { registerProcessMetrics, Registry } from "../../src/metrics/mod.ts";
import { VERSION } from "../../src/base/version.ts";
import { recordingLogger } from "../_tools.ts";

Deno.test("registerProcessMetrics() exposes CPU, memory, start time and build info", async () => {
  const registry = new Registry({ logger: recordingLogger() });
  registerProcessMetrics(registry);
  // Burn some CPU so the counter has grown between two scrapes.
  const first = await registry.metrics();
  let sink = 0;
  for (let i = 0; i < 5e6; i++) sink += Math.sqrt(i);
  assert.ok(sink > 0);
  const text = await registry.metrics();
  const value = (source: string, name: string): number => {
    const match = new RegExp(`^${name} (\\S+)$`, "m").exec(source);
    assert.ok(match, `${name} missing`);
    return Number(match[1]);
  };
  assert.ok(
    value(text, "process_cpu_seconds_total") >
      value(first, "process_cpu_seconds_total"),
  );
  assert.ok(value(text, "process_resident_memory_bytes") > 1e6);
  assert.ok(value(text, "process_heap_bytes") > 1e5);
  const start = value(text, "process_start_time_seconds");
  assert.ok(start <= Date.now() / 1000 && start > Date.now() / 1000 - 3600);
  assert.match(
    text,
    new RegExp(
      `^vigil_build_info\\{version="${VERSION.replaceAll(".", "\\.")}",deno="${
        Deno.version.deno.replaceAll(".", "\\.")
      }"\\} 1$`,
      "m",
    ),
  );
  await registry.close();
});

Deno.test(
  "process_open_fds is exposed when /proc/self/fd can be read (--allow-all)",
  {
    ignore: Deno.build.os !== "linux",
  },
  async () => {
    // Deno lets only --allow-all read /proc/self, so check it in a child.
    const script = `
    import { Registry, registerProcessMetrics } from ${
      JSON.stringify(new URL("../../src/metrics/mod.ts", import.meta.url).href)
    };
    const registry = new Registry();
    registerProcessMetrics(registry);
    console.log(await registry.metrics());
  `;
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        "-A",
        "--config",
        new URL("../../deno.json", import.meta.url).pathname,
        script,
      ],
    }).output();
    const text = new TextDecoder().decode(stdout);
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const match = /^process_open_fds (\d+)$/m.exec(text);
    assert.ok(match, text);
    assert.ok(Number(match[1]) >= 3);
  },
);

function canReadFds(): boolean {
  try {
    Deno.readDirSync("/proc/self/fd");
    return true;
  } catch {
    return false;
  }
}

Deno.test("process_open_fds is left out without the permission to read it", {
  ignore: canReadFds(),
}, async () => {
  const registry = new Registry({ logger: recordingLogger() });
  registerProcessMetrics(registry);
  assert.doesNotMatch(await registry.metrics(), /process_open_fds/);
  await registry.close();
});
