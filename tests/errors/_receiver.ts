// A stand-in for Sentry: receives envelopes at /api/<project>/envelope/ on
// 127.0.0.1 and parses them (newline-separated JSON: the envelope header,
// then an item header and its payload per item).

/** One item of an envelope. */
export interface EnvelopeItem {
  readonly header: Record<string, unknown>;
  readonly payload: Record<string, unknown>;
}

/** One envelope as received. */
export interface Envelope {
  readonly path: string;
  readonly auth: string | null;
  readonly header: Record<string, unknown>;
  readonly items: EnvelopeItem[];
  readonly raw: string;
}

/** Parses a Sentry envelope whose payloads are JSON. */
export function parseEnvelope(text: string): Omit<Envelope, "path" | "auth"> {
  const lines = text.split("\n").filter((line) => line !== "");
  const header = JSON.parse(lines[0]!);
  const items: EnvelopeItem[] = [];
  for (let i = 1; i + 1 < lines.length; i += 2) {
    items.push({
      header: JSON.parse(lines[i]!),
      payload: JSON.parse(lines[i + 1]!),
    });
  }
  return { header, items, raw: text };
}

/** A receiver and the DSN that points at it. */
export interface Receiver {
  readonly dsn: string;
  readonly envelopes: Envelope[];
  /** The items of one type (`event`, `session`, ...) across envelopes. */
  items(type: string): EnvelopeItem[];
  close(): Promise<void>;
}

export function startReceiver(): Receiver {
  const envelopes: Envelope[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (request) => {
      const path = new URL(request.url).pathname;
      const text = await request.text();
      envelopes.push({
        path,
        auth: request.headers.get("x-sentry-auth"),
        ...parseEnvelope(text),
      });
      return Response.json({ id: "ok" });
    },
  );
  return {
    dsn: `http://publickey@127.0.0.1:${server.addr.port}/42`,
    envelopes,
    items: (type) =>
      envelopes.flatMap((envelope) =>
        envelope.items.filter((item) => item.header.type === type)
      ),
    close: () => server.shutdown(),
  };
}

/** A port on 127.0.0.1 that nothing listens on. */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}
