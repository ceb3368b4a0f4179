// The transport that carries Sentry's envelopes. Sentry's own transport
// posts them with `fetch`, and with `OTEL_DENO=true` Deno traces every
// `fetch`: Sentry wraps the call in its `suppressTracing()`, which only its
// own tracer reads, and Deno's fetch span ignores OpenTelemetry's suppress
// key too (checked on Deno 2.9). Each upload would then show up as a client
// span of the application, often as a child of the request that failed. So
// the envelope goes out as one HTTP/1.1 request written on a plain
// `Deno.connect` / `Deno.connectTls` connection, which Deno does not trace.
// Every upload that fails (no connection, a non-2xx answer, no answer before
// the deadline) is reported to `onFailure`, the one signal counted in
// `vigil_error_reports_failed_total`.
import { createTransport, type DenoOptions } from "@sentry/deno";

/** The transport factory Sentry's `init()` takes. */
export type TransportFactory = NonNullable<DenoOptions["transport"]>;
type TransportOptions = Parameters<TransportFactory>[0];
type MakeRequest = Parameters<typeof createTransport>[1];
type TransportResponse = Awaited<ReturnType<MakeRequest>>;

/** Why an upload failed, the `reason` label of the failure counter. */
export type UploadFailure = "network" | "status" | "timeout";

/** Options of {@linkcode makeUploadTransport}. */
export interface UploadTransportOptions {
  /** How long one upload may take, connection included. */
  readonly timeoutMs: number;
  /** Called once for each upload that failed. */
  readonly onFailure: (reason: UploadFailure, detail: string) => void;
  /** Called for each upload that Sentry accepted (2xx). */
  readonly onSuccess: () => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** The most of an answer read: the status line and headers fit in it. */
const MAX_HEAD_BYTES = 16 * 1024;

/**
 * A Sentry transport factory that uploads over a plain TCP (or TLS)
 * connection, untraced, within `timeoutMs`, reporting failures.
 *
 * @param options The deadline and the failure and success callbacks.
 * @returns The factory, for Sentry's `transport` option.
 */
export function makeUploadTransport(
  options: UploadTransportOptions,
): TransportFactory {
  return (transportOptions: TransportOptions) => {
    const url = new URL(transportOptions.url);
    const makeRequest: MakeRequest = async (request) => {
      try {
        const response = await post(
          url,
          transportOptions.headers ?? {},
          typeof request.body === "string"
            ? encoder.encode(request.body)
            : request.body,
          options.timeoutMs,
        );
        const status = response.statusCode ?? 0;
        if (status >= 200 && status < 300) options.onSuccess();
        else options.onFailure("status", `HTTP ${status}`);
        return response;
      } catch (error) {
        const timedOut = error instanceof DOMException &&
          error.name === "TimeoutError";
        options.onFailure(
          timedOut ? "timeout" : "network",
          error instanceof Error ? error.message : String(error),
        );
        throw error;
      }
    };
    return createTransport(transportOptions, makeRequest);
  };
}

async function post(
  url: URL,
  headers: Record<string, string>,
  body: Uint8Array,
  timeoutMs: number,
): Promise<TransportResponse> {
  const secure = url.protocol === "https:";
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  const controller = new AbortController();
  const signal = controller.signal;
  const timer = setTimeout(() =>
    controller.abort(
      new DOMException(
        `Sentry did not answer within ${timeoutMs} ms`,
        "TimeoutError",
      ),
    ), timeoutMs);
  let conn: Deno.Conn | undefined;
  let closed = false;
  // Closing the connection ends a pending read or write: the deadline.
  const abort = () => {
    if (conn === undefined || closed) return;
    closed = true;
    conn.close();
  };
  try {
    const connecting: Promise<Deno.Conn> = secure
      ? Deno.connectTls({ hostname, port })
      : Deno.connect({ hostname, port });
    conn = await raceSignal(connecting, signal, (late) => late.close());
    signal.addEventListener("abort", abort, { once: true });
    const head = [
      `POST ${url.pathname}${url.search} HTTP/1.1`,
      `Host: ${url.host}`,
      "Content-Type: application/x-sentry-envelope",
      `Content-Length: ${body.byteLength}`,
      "Connection: close",
      ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
      "",
      "",
    ].join("\r\n");
    await writeAll(conn, encoder.encode(head));
    await writeAll(conn, body);
    return parseHead(await readHead(conn, signal));
  } catch (error) {
    throw signal.aborted ? signal.reason : error;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", abort);
    abort();
  }
}

function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal,
  discard: (late: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((value) => {
      signal.removeEventListener("abort", onAbort);
      if (signal.aborted) discard(value);
      else resolve(value);
    }, (error) => {
      signal.removeEventListener("abort", onAbort);
      reject(error);
    });
  });
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let written = 0;
  while (written < bytes.byteLength) {
    written += await conn.write(bytes.subarray(written));
  }
}

/** Reads the status line and headers (the body is not needed). */
async function readHead(conn: Deno.Conn, signal: AbortSignal): Promise<string> {
  const buffer = new Uint8Array(MAX_HEAD_BYTES);
  let length = 0;
  while (length < buffer.byteLength) {
    const read = await conn.read(buffer.subarray(length));
    if (read === null) break;
    length += read;
    const text = decoder.decode(buffer.subarray(0, length));
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) return text.slice(0, end);
  }
  if (signal.aborted) throw signal.reason;
  const text = decoder.decode(buffer.subarray(0, length));
  if (length === 0) {
    throw new TypeError("Sentry closed the connection: no answer");
  }
  return text;
}

function parseHead(head: string): TransportResponse {
  const [statusLine = "", ...lines] = head.split("\r\n");
  const match = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(statusLine);
  if (match === null) {
    throw new TypeError(
      `Sentry answered with no HTTP status line: ${statusLine.slice(0, 80)}`,
    );
  }
  const fields = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      fields.set(
        line.slice(0, colon).trim().toLowerCase(),
        line.slice(colon + 1).trim(),
      );
    }
  }
  return {
    statusCode: Number(match[1]),
    headers: {
      "x-sentry-rate-limits": fields.get("x-sentry-rate-limits") ?? null,
      "retry-after": fields.get("retry-after") ?? null,
    },
  };
}
