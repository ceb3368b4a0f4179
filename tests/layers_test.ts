// The layering rule of DESIGN.md, enforced: every relative import under
// src/, workers/ and mod.ts is read, and the folder graph must point down.
import assert from "node:assert/strict";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * The layers, top first, and the places in each. A place is a folder of
 * `src/` or a file directly in `src/` (named without `.ts`). A new folder
 * must be added here, which is the moment to decide where it belongs.
 */
const LAYERS: readonly (readonly string[])[] = [
  ["cli", "probe", "generate", "testing"],
  ["app"],
  ["config"],
  ["http", "ingest", "dashboards", "alerts"],
  ["health", "tracing", "errors", "logging", "kits"],
  ["metrics", "aggregation"],
  // Below the core: the workers run the detectors, and the registry's
  // model monitors name them.
  ["drift"],
  ["base"],
];

const RANK = new Map<string, number>(
  LAYERS.flatMap((places, rank) => places.map((place) => [place, rank])),
);

// Static and dynamic imports, and modules started by URL (workers); a URL
// of a directory or data file is no dependency.
const IMPORT =
  /(?:\bfrom\s+|\bimport\s*\(?\s*)"(\.[^"]+)"|new URL\(\s*"(\.[^"]+\.ts)"/g;

interface Edge {
  readonly file: string;
  readonly target: string;
}

async function* sources(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(join(ROOT, dir))) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sources(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

async function edges(dir: string): Promise<Edge[]> {
  const found: Edge[] = [];
  for await (const file of sources(dir)) {
    const text = await Deno.readTextFile(join(ROOT, file));
    for (const [, imported, started] of text.matchAll(IMPORT)) {
      const specifier = imported ?? started!;
      found.push({
        file,
        target: relative(ROOT, join(ROOT, dirname(file), specifier)),
      });
    }
  }
  return found;
}

/** `src/metrics/counter.ts` → `metrics`; `src/app.ts` → `app`. */
function placeOf(path: string): string | undefined {
  const parts = path.split("/");
  if (parts[0] !== "src") return undefined;
  return parts.length === 2 ? parts[1]!.replace(/\.ts$/, "") : parts[1];
}

const srcEdges = await edges("src");

Deno.test("Every place under src/ belongs to a layer of DESIGN.md", async () => {
  const places = new Set<string>();
  for await (const file of sources("src")) places.add(placeOf(file)!);
  const unknown = [...places].filter((place) => !RANK.has(place));
  assert.deepEqual(unknown, [], "add them to LAYERS in this test");
});

Deno.test("Imports under src/ only point down the layers", () => {
  const upward = srcEdges.flatMap(({ file, target }) => {
    const from = placeOf(file)!;
    const to = placeOf(target);
    // A worker entry point is started by URL, not imported: its own imports
    // come back into src/ and are checked below.
    if (to === undefined && target.startsWith("workers/")) return [];
    if (to === undefined) return [`${file} imports ${target}, outside src/`];
    if (from === to) return [];
    return RANK.get(to)! < RANK.get(from)!
      ? [`${file} (${from}) imports ${target} (${to}), a layer above`]
      : [];
  });
  assert.deepEqual(upward, []);
});

Deno.test("No two places under src/ depend on each other", () => {
  const graph = new Map<string, Set<string>>();
  for (const { file, target } of srcEdges) {
    const from = placeOf(file)!;
    const to = placeOf(target);
    if (to === undefined || to === from) continue;
    if (!graph.has(from)) graph.set(from, new Set());
    graph.get(from)!.add(to);
  }
  // Any cycle, however long, means two places depend on each other.
  const cycles: string[] = [];
  const reach = (start: string, at: string, path: string[]): void => {
    for (const next of graph.get(at) ?? []) {
      if (next === start) cycles.push([...path, next].join(" -> "));
      else if (!path.includes(next)) reach(start, next, [...path, next]);
    }
  };
  for (const start of graph.keys()) reach(start, start, [start]);
  assert.deepEqual(cycles, []);
});

Deno.test("Internal files are reached only from their own folder, or in base/", () => {
  const reaching = srcEdges.filter(({ file, target }) => {
    const internal = target.split("/").at(-1)!.startsWith("_");
    const to = placeOf(target);
    return internal && to !== placeOf(file) && to !== "base";
  }).map(({ file, target }) => `${file} imports ${target}`);
  assert.deepEqual(reaching, []);
});

Deno.test("Public modules never re-export an internal file", async () => {
  const entries = ["mod.ts"];
  for await (const file of sources("src")) {
    if (file.endsWith("/mod.ts")) entries.push(file);
  }
  const leaks: string[] = [];
  for (const entry of entries) {
    const text = await Deno.readTextFile(join(ROOT, entry));
    for (
      const [, specifier] of text.matchAll(/export[^;]*?from\s+"([^"]+)"/g)
    ) {
      if (specifier!.split("/").at(-1)!.startsWith("_")) {
        leaks.push(`${entry} re-exports ${specifier}`);
      }
    }
  }
  assert.deepEqual(leaks, []);
});

Deno.test("workers/ holds entry points that only import src/", async () => {
  const outside = (await edges("workers"))
    .filter(({ target }) => !target.startsWith("src/"))
    .map(({ file, target }) => `${file} imports ${target}`);
  assert.deepEqual(outside, []);
});

Deno.test("The layer check sees a back edge when there is one", () => {
  // The rule itself: an import from core up to a feature is reported.
  assert.ok(RANK.get("metrics")! > RANK.get("health")!);
  assert.equal(placeOf("src/metrics/registry.ts"), "metrics");
  assert.equal(placeOf("src/app.ts"), "app");
  assert.ok(srcEdges.length > 50, "the import scan found the imports");
  assert.ok(
    srcEdges.some(({ file, target }) =>
      file === "src/metrics/registry.ts" &&
      target === "src/aggregation/pool.ts"
    ),
  );
});
