// How a shard reaches its aggregator: a Web Worker, or an endpoint on the
// main thread behind a MessageChannel. Internal.
import { fileURLToPath } from "node:url";
import { serveAggregator } from "./endpoint.ts";
import type { Connection } from "./shard.ts";

const WORKER_URL = new URL("../../workers/aggregator.ts", import.meta.url);

/**
 * The folders holding the worker's modules that Deno may not read, as
 * paths; empty when it may. Deno loads the modules a program imports
 * without asking, but a Worker's only with read permission: without it the
 * worker fails to load. Modules served over the network, as from JSR, need
 * none.
 *
 * @param url The worker's entry point, in `workers/` beside `src/`.
 */
export function unreadableWorkerPaths(url: URL = WORKER_URL): string[] {
  if (url.protocol !== "file:") return [];
  // The worker imports from both; checking the folders, not each module,
  // keeps this from going stale as the worker's imports change.
  return ["../src/", "./"]
    .map((folder) => new URL(folder, url))
    .filter((folder) =>
      Deno.permissions.querySync({ name: "read", path: folder }).state !==
        "granted"
    )
    .map((folder) => fileURLToPath(folder).replace(/[\\/]$/, ""));
}

/**
 * Starts an aggregator in a Web Worker.
 *
 * @param url The worker's entry point; tests give one that does not load.
 */
export function workerConnection(
  onFailure: (reason: string) => void,
  url: URL = WORKER_URL,
): Connection {
  const worker = new Worker(url, { type: "module" });
  const channel = new MessageChannel();
  worker.onerror = (event) => {
    // Without preventDefault() an error in a worker ends the whole process.
    event.preventDefault();
    onFailure(`worker error: ${event.message}`);
  };
  worker.onmessageerror = () => onFailure("worker message error");
  worker.postMessage({ port: channel.port2 }, [channel.port2]);
  return {
    port: channel.port1,
    inThread: false,
    terminate: () => {
      channel.port1.close();
      worker.terminate();
    },
  };
}

/** Starts an aggregator on this thread, behind a MessageChannel. */
export function inThreadConnection(): Connection {
  const channel = new MessageChannel();
  const endpoint = serveAggregator(channel.port2);
  return {
    port: channel.port1,
    inThread: true,
    terminate: () => {
      endpoint.close();
      channel.port1.close();
    },
  };
}
