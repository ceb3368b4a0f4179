// How a shard reaches its aggregator: a Web Worker, or an endpoint on the
// main thread behind a MessageChannel. Internal.
import { serveAggregator } from "./endpoint.ts";
import type { Connection } from "./shard.ts";

const WORKER_URL = new URL("../../workers/aggregator.ts", import.meta.url);

/** Starts an aggregator in a Web Worker. */
export function workerConnection(
  onFailure: (reason: string) => void,
): Connection {
  const worker = new Worker(WORKER_URL, { type: "module" });
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
  const endpoint = serveAggregator(channel.port2, { useWebAssembly: true });
  return {
    port: channel.port1,
    inThread: true,
    terminate: () => {
      endpoint.close();
      channel.port1.close();
    },
  };
}
