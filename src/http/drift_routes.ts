// The drift API: model status, prediction updates and detector resets.
import { authorize } from "./auth.ts";
import { type Handler, json } from "./handlers.ts";
import { readBody, RequestBodyError } from "./limits.ts";
import { createLogger, type Logger } from "../base/log.ts";
import type { Model } from "../metrics/model.ts";
import type { Registry } from "../metrics/registry.ts";
import { ModelInputError, type ModelUpdate } from "../drift/model_types.ts";

/**
 * Who may call the drift API's write routes (`POST /drift/update`,
 * `POST /drift/reset`): holders of the write token, anyone when there is
 * none and the server listens on a loopback address, else no one.
 */
export type WriteAccess =
  | { readonly type: "token"; readonly token: string }
  | { readonly type: "loopback" }
  | { readonly type: "refused" };

/**
 * Whether a host name or address the server listens on is a loopback one:
 * `localhost`, an IPv4 address in 127.0.0.0/8 (in any form the URL
 * standard reads, such as `127.1`), `::1` (bracketed or not, in any
 * spelling) or an IPv4-mapped `::ffff:127.x.y.z`. Anything else, `0.0.0.0`
 * and `::` included, is not.
 *
 * @param hostname The address, such as `"127.0.0.1"` or `"[::1]"`.
 * @returns Whether only this machine can reach it.
 *
 * @example Tell loopback from every interface
 * ```ts
 * import { isLoopback } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * assert.ok(isLoopback("127.0.0.1"));
 * assert.ok(isLoopback("::1"));
 * assert.ok(isLoopback("localhost"));
 * assert.ok(!isLoopback("0.0.0.0"));
 * assert.ok(!isLoopback("10.0.0.7"));
 * ```
 */
export function isLoopback(hostname: string): boolean {
  let host = hostname.trim().toLowerCase();
  if (host.endsWith(".")) host = host.slice(0, -1);
  if (host === "localhost") return true;
  const bare = host.startsWith("[") && host.endsWith("]")
    ? host.slice(1, -1)
    : host;
  // The URL parser writes every IPv4 and IPv6 form one way: 127.1 as
  // 127.0.0.1, 0:0:0:0:0:0:0:1 as [::1], ::ffff:127.0.0.1 as [::ffff:7f00:1].
  const url = URL.parse(`http://${bare.includes(":") ? `[${bare}]` : bare}/`);
  if (url === null) return false;
  const address = url.hostname;
  if (/^127\.\d+\.\d+\.\d+$/.test(address)) return true;
  if (address === "[::1]") return true;
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):[0-9a-f]{1,4}\]$/.exec(address);
  return mapped !== null && parseInt(mapped[1]!, 16) >> 8 === 127;
}

/**
 * Decides who may call the drift API's write routes: with a write token,
 * its holders; without one, anyone if the server listens on a loopback
 * address (see {@linkcode isLoopback}), else no one. An unknown address
 * counts as not loopback.
 *
 * @param hostname The address the server listens on, if known.
 * @param writeToken The configured write token; `""` for none.
 * @returns The rule the write routes apply.
 *
 * @example Refuse writes on every interface without a token
 * ```ts
 * import { writeAccess } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(writeAccess("0.0.0.0", ""), { type: "refused" });
 * assert.deepEqual(writeAccess("127.0.0.1", ""), { type: "loopback" });
 * assert.deepEqual(writeAccess("0.0.0.0", "s3cret"), { type: "token", token: "s3cret" });
 * ```
 */
export function writeAccess(
  hostname: string | undefined,
  writeToken: string,
): WriteAccess {
  if (writeToken !== "") return { type: "token", token: writeToken };
  if (hostname !== undefined && isLoopback(hostname)) {
    return { type: "loopback" };
  }
  return { type: "refused" };
}

/**
 * Applies a {@linkcode WriteAccess} to a request: 401 without the write
 * token (compared as `authorize()` compares a bearer token, in constant
 * time), 403 when writes are refused.
 *
 * @param request The request.
 * @param access The rule.
 * @returns `undefined` when allowed, else the response to send.
 */
export function authorizeWrite(
  request: Request,
  access: WriteAccess,
): Response | undefined {
  switch (access.type) {
    case "token":
      return authorize(request, { type: "bearer", token: access.token });
    case "loopback":
      return undefined;
    case "refused":
      return json({
        error:
          "Drift writes are refused: the server listens beyond loopback and no write token is set (drift.writeToken or VIGIL_WRITE_TOKEN)",
      }, 403);
  }
}

/** Options of {@linkcode driftRoutes}. */
export interface DriftRoutesOptions {
  /** The registry whose models the routes serve. */
  readonly registry: Registry;
  /**
   * Request bodies larger than this get 413.
   * @default {1048576}
   */
  readonly maxBodyBytes?: number;
  /**
   * Request bodies must arrive within this many milliseconds, else 408.
   * @default {10000}
   */
  readonly requestTimeoutMs?: number;
  /**
   * Where failures to read a status or to reset are logged.
   * @default {Vigil's logger of category `vigil.drift`, written where LogTape is configured}
   */
  readonly logger?: Logger;
}

/** The fields of one update; any other is refused as a likely typo. */
const UPDATE_FIELDS: readonly string[] = ["prediction", "actual", "proba"];

/** A 400 naming the field at fault and why. */
function badInput(field: string, reason: string): Response {
  return json(
    { error: `Invalid drift update: ${field} ${reason}`, field, reason },
    400,
  );
}

/** A request refused before anything is applied, with its response. */
class Refusal {
  readonly response: Response;
  constructor(response: Response) {
    this.response = response;
  }
}

/** The model a request names, or the only one; a Refusal otherwise. */
function findModel(registry: Registry, name: string | null): Model | Refusal {
  if (name === null) {
    const models = registry.models();
    if (models.length === 1) return models[0]!;
    return new Refusal(badInput(
      "model",
      `is required when the server has ${models.length} models, not 1`,
    ));
  }
  const model = registry.getModel(name);
  if (model !== undefined) return model;
  return new Refusal(json({
    error: `Unknown model: ${JSON.stringify(name)}`,
    field: "model",
    reason: `names no model of this server (${
      registry.models().map((m) => JSON.stringify(m.name)).join(", ") || "none"
    })`,
  }, 404));
}

/** Whether a Content-Type header is JSON's, parameters aside. */
function isJson(contentType: string | null): boolean {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return type === "application/json";
}

/** A JSON body's model and updates, checked for shape; a Refusal otherwise. */
function bodyUpdates(
  bytes: Uint8Array,
): { model: string | null; updates: ModelUpdate[] } | Refusal {
  let body: unknown;
  try {
    body = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    if (!(error instanceof SyntaxError || error instanceof TypeError)) {
      throw error;
    }
    return new Refusal(badInput("body", `is not JSON: ${error.message}`));
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) {
    return new Refusal(badInput(
      "body",
      'must be an object such as {"model": "m", "updates": [...]}',
    ));
  }
  const { model = null, updates, ...rest } = body as Record<string, unknown>;
  const [unknown] = Object.keys(rest);
  if (unknown !== undefined) {
    return new Refusal(
      badInput(unknown, "is not a field of the body (model, updates)"),
    );
  }
  if (model !== null && typeof model !== "string") {
    return new Refusal(badInput("model", "must be a string"));
  }
  if (updates === undefined) {
    return new Refusal(badInput("updates", "is missing"));
  }
  if (!Array.isArray(updates)) {
    return new Refusal(badInput("updates", "must be an array"));
  }
  if (updates.length === 0) {
    return new Refusal(badInput("updates", "must not be empty"));
  }
  for (const [i, update] of updates.entries()) {
    if (
      update === null || typeof update !== "object" || Array.isArray(update)
    ) {
      return new Refusal(badInput(
        `updates[${i}]`,
        'must be an object such as {"prediction": 1, "actual": 0}',
      ));
    }
    const extra = Object.keys(update).find((key) =>
      !UPDATE_FIELDS.includes(key)
    );
    if (extra !== undefined) {
      return new Refusal(badInput(
        `updates[${i}].${extra}`,
        `is not a field of an update (${UPDATE_FIELDS.join(", ")})`,
      ));
    }
  }
  return { model, updates: updates as ModelUpdate[] };
}

/**
 * The one update of the query form (`?prediction=1&actual=0&proba=0.8`):
 * labels stay strings, which compare equal to numbers of the same text; a
 * regression model's values and `proba` become numbers.
 */
function queryUpdate(
  params: URLSearchParams,
  model: Model,
): ModelUpdate | Refusal {
  const values: Record<string, string | number> = {};
  for (const field of ["prediction", "actual"]) {
    const text = params.get(field);
    if (text === null) return new Refusal(badInput(field, "is missing"));
    if (text === "") return new Refusal(badInput(field, "is empty"));
    values[field] = text;
    if (model.regression) {
      const value = Number(text);
      if (!Number.isFinite(value) || text.trim() === "") {
        return new Refusal(badInput(
          field,
          `must be a number for the regression model "${model.name}", got ${
            JSON.stringify(text)
          }`,
        ));
      }
      values[field] = value;
    }
  }
  const proba = params.get("proba");
  if (proba !== null) {
    const value = Number(proba);
    if (!Number.isFinite(value) || proba.trim() === "") {
      return new Refusal(badInput(
        "proba",
        `must be a number from 0 to 1, got ${JSON.stringify(proba)}`,
      ));
    }
    values.proba = value;
  }
  return values as unknown as ModelUpdate;
}

/**
 * The handlers of `GET /drift/status`, `POST /drift/update` and
 * `POST /drift/reset` over a registry's models. They check neither the
 * method nor the write token: the server does, from the route table.
 *
 * - `GET /drift/status[?model=name]`: `{"models": [status, ...]}`, each a
 *   model's `status()`; figures that are NaN (an empty window) are `null`.
 * - `POST /drift/update`: one update in the query
 *   (`?model=m&prediction=1&actual=0&proba=0.8`), or a JSON body
 *   `{"model": "m", "updates": [{"prediction": 1, "actual": 0, "proba": 0.8}]}`
 *   (`model` may also be in the query, and left out when the server has
 *   one model). Applied whole or not at all: 200 `{"model", "applied"}`
 *   once the updates are in the worker's ring, so a status that follows
 *   sees them; 400 `{"error", "field", "reason"}` for bad input, 404 for
 *   an unknown model, 413 for a body over the limit, 415 for a body that
 *   is not `application/json`, 503 with `Retry-After: 1` when the workers'
 *   batches are full.
 * - `POST /drift/reset[?model=name]`: restarts the detectors and recent
 *   windows of one model or all, answering `{"reset": [names]}` once done.
 *
 * @param options The registry, the body limits and the logger.
 * @returns The handlers by path.
 *
 * @example Record a prediction and read it back
 * ```ts
 * import { Registry } from "@vigil/observe/metrics";
 * import { driftRoutes } from "@vigil/observe/server";
 * import assert from "node:assert/strict";
 *
 * const registry = new Registry();
 * registry.model({ name: "ensemble", classes: [0, 1], detectors: [{ kind: "ddm" }] });
 * const routes = driftRoutes({ registry });
 * const update = await routes["/drift/update"](new Request(
 *   "http://localhost/drift/update?prediction=1&actual=0&proba=0.8",
 *   { method: "POST" },
 * ));
 * assert.deepEqual(await update.json(), { model: "ensemble", applied: 1 });
 * const status = await routes["/drift/status"](new Request("http://localhost/drift/status"));
 * const { models } = await status.json();
 * assert.equal(models[0].predictions, 1);
 * await registry.close();
 * ```
 */
export function driftRoutes(
  options: DriftRoutesOptions,
): Record<"/drift/status" | "/drift/update" | "/drift/reset", Handler> {
  const {
    registry,
    maxBodyBytes = 1024 * 1024,
    requestTimeoutMs = 10_000,
    logger = createLogger("drift"),
  } = options;
  const selected = (request: Request): readonly Model[] | Refusal => {
    const name = new URL(request.url).searchParams.get("model");
    if (name === null) return registry.models();
    const model = findModel(registry, name);
    return model instanceof Refusal ? model : [model];
  };
  return {
    "/drift/status": async (request) => {
      const models = selected(request);
      if (models instanceof Refusal) return models.response;
      let statuses: unknown[];
      try {
        statuses = await Promise.all(models.map((model) => model.status()));
      } catch (error) {
        logger.error("Reading drift status failed", {
          event: "drift.status_failed",
          error,
        });
        return json({ error: "Reading drift status failed" }, 500);
      }
      // JSON writes NaN (a figure of an empty window) as null.
      return json({ models: statuses }, 200);
    },

    "/drift/update": async (request) => {
      let bytes: Uint8Array;
      try {
        bytes = await readBody(request, {
          maxBytes: maxBodyBytes,
          timeoutMs: requestTimeoutMs,
        });
      } catch (error) {
        if (!(error instanceof RequestBodyError)) throw error;
        return json({ error: error.message }, error.status);
      }
      const params = new URL(request.url).searchParams;
      const inQuery = UPDATE_FIELDS.some((field) => params.has(field));
      let name = params.get("model");
      let updates: ModelUpdate[] | undefined;
      let model: Model | Refusal;
      if (bytes.byteLength > 0) {
        if (!isJson(request.headers.get("content-type"))) {
          return json({
            error: `Unsupported content type: ${
              JSON.stringify(request.headers.get("content-type") ?? "")
            } (a body of updates is application/json)`,
          }, 415);
        }
        if (inQuery) {
          return badInput(
            UPDATE_FIELDS.find((field) => params.has(field))!,
            "cannot be in the query when the body holds the updates",
          );
        }
        const body = bodyUpdates(bytes);
        if (body instanceof Refusal) return body.response;
        if (body.model !== null && name !== null && body.model !== name) {
          return badInput(
            "model",
            `differs between the query (${
              JSON.stringify(name)
            }) and the body (${JSON.stringify(body.model)})`,
          );
        }
        name = body.model ?? name;
        updates = body.updates;
        model = findModel(registry, name);
        if (model instanceof Refusal) return model.response;
      } else {
        if (!inQuery) {
          return badInput(
            "updates",
            'are missing: give prediction and actual in the query, or a JSON body {"updates": [...]}',
          );
        }
        model = findModel(registry, name);
        if (model instanceof Refusal) return model.response;
        const update = queryUpdate(params, model);
        if (update instanceof Refusal) return update.response;
        updates = [update];
      }
      try {
        model.recordAll(updates);
      } catch (error) {
        if (error instanceof ModelInputError) {
          // The query form has one update: name its field as the query does.
          const field = bytes.byteLength > 0
            ? error.field
            : error.field.replace(/^updates\[0\]\./, "");
          return badInput(field, error.reason);
        }
        if (error instanceof RangeError) {
          return json(
            {
              error:
                "Drift updates arrive faster than the workers apply them: retry",
            },
            503,
            { "retry-after": "1" },
          );
        }
        throw error;
      }
      return json({ model: model.name, applied: updates.length }, 200);
    },

    "/drift/reset": async (request) => {
      await request.body?.cancel();
      const models = selected(request);
      if (models instanceof Refusal) return models.response;
      try {
        await Promise.all(models.map((model) => model.reset()));
      } catch (error) {
        // The reset travels in the batches: none had room for it.
        if (error instanceof RangeError) {
          return json(
            { error: "The workers' batches are full: retry the reset" },
            503,
            { "retry-after": "1" },
          );
        }
        logger.error("Resetting drift detectors failed", {
          event: "drift.reset_failed",
          error,
        });
        return json({ error: "Resetting drift detectors failed" }, 500);
      }
      return json({ reset: models.map((model) => model.name) }, 200);
    },
  };
}
