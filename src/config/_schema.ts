// A small declarative schema over YAML nodes. Each schema reads one node,
// throws a ConfigError at the first problem with that node's position, and
// fills in defaults. Internal: not re-exported.
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Pair,
  Scalar,
  type YAMLMap,
} from "yaml";
import { ConfigError } from "./errors.ts";

/** Where a value comes from: a parsed document, or a bare value (an env var). */
export class Reader {
  readonly source: string;
  readonly #doc: Document | undefined;
  readonly #lines: LineCounter | undefined;

  constructor(source: string, doc?: Document, lines?: LineCounter) {
    this.source = source;
    this.#doc = doc;
    this.#lines = lines;
  }

  /** Throws a ConfigError at `node`, or without a position when it has none. */
  fail(node: unknown, path: string, problem: string, cause?: unknown): never {
    const range = (node as { range?: readonly number[] } | null)?.range;
    const pos = range && this.#lines?.linePos(range[0] ?? 0);
    throw new ConfigError(this.source, problem, {
      path,
      ...(pos ? { line: pos.line, column: pos.col } : {}),
      ...(cause === undefined ? {} : { cause }),
    });
  }

  /** The node an alias (`*name`) stands for; any other node as it is. */
  deref(node: unknown, path: string): unknown {
    if (!isAlias(node)) return node;
    const target = this.#doc && node.resolve(this.#doc);
    if (target === undefined) {
      this.fail(node, path, `unknown alias *${node.source}`);
    }
    return target;
  }
}

/** Reads and checks one kind of value. */
export interface Schema<T> {
  /** What a valid value is, for messages: "an integer from 0 to 65535". */
  readonly expected: string;
  /** What an absent key becomes: a default, or nothing for an optional key. */
  readonly absent?: { readonly value: T | undefined };
  /** Reads `node`; `base` is the value it overrides, merged into by objects. */
  read(node: unknown, path: string, reader: Reader, base?: T): T;
}

/** A problem found after reading, at a path relative to the value. */
export interface Issue {
  readonly at: readonly (string | number)[];
  readonly problem: string;
}

/** The schemas of an object's keys, in the order messages list them. */
export type Fields<T> = { readonly [K in keyof T]-?: Schema<T[K]> };

/** `path` extended by a key or an index: `a.b`, `a[0]`, `a["/x"]`. */
export function join(path: string, key: string | number): string {
  if (typeof key === "number") return `${path}[${key}]`;
  if (!/^[A-Za-z_$][\w$]*$/.test(key)) return `${path}[${JSON.stringify(key)}]`;
  return path === "" ? key : `${path}.${key}`;
}

/** A node or a bare value as messages show it: `"http"`, `1.0`, `a mapping`. */
export function describe(node: unknown): string {
  if (isMap(node)) return "a mapping";
  if (isSeq(node)) return "a sequence";
  const value = isScalar(node) ? node.value : node;
  // Numbers as written: `1.0`, not `1`; `.inf`, not `Infinity`.
  const source = isScalar(node) ? node.source : undefined;
  if (typeof value === "number" && typeof source === "string") return source;
  if (typeof value === "string") {
    return JSON.stringify(
      value.length > 60 ? `${value.slice(0, 57)}...` : value,
    );
  }
  return String(value ?? null);
}

function isEmpty(node: unknown): boolean {
  return node === null || node === undefined ||
    (isScalar(node) && node.value === null);
}

/** The items of a mapping, an empty value counting as an empty mapping. */
function pairsOf(
  schema: Schema<unknown>,
  node: unknown,
  path: string,
  reader: Reader,
): readonly Pair[] {
  if (isEmpty(node)) return [];
  if (!isMap(node)) {
    reader.fail(
      node,
      path,
      `expected ${schema.expected}, got ${describe(node)}`,
    );
  }
  return (node as YAMLMap).items;
}

/** The key of a pair as a string, and the value node, placed at the key when empty. */
function entry(
  pair: Pair,
  parent: unknown,
  path: string,
  reader: Reader,
): [string, unknown, unknown] {
  const key = reader.deref(pair.key, path);
  if (!isScalar(key) || typeof key.value === "object") {
    reader.fail(
      key ?? parent,
      path,
      `expected a key name, got ${describe(key)}`,
    );
  }
  if (!isEmpty(pair.value)) return [String(key.value), key, pair.value];
  // `port:` with nothing after it: point at the key, not past the colon.
  const empty = new Scalar(null);
  empty.range = key.range ?? null;
  return [String(key.value), key, empty];
}

/** The node at `at` below `node`, or the deepest one that exists. */
function locate(node: unknown, at: readonly (string | number)[]): unknown {
  let here = node;
  for (const step of at) {
    const next = isMap(here)
      ? here.items.find((p) => isScalar(p.key) && p.key.value === step)?.value
      : isSeq(here) && typeof step === "number"
      ? here.items[step]
      : undefined;
    if (next === undefined || next === null) break;
    here = next;
  }
  return here;
}

function failAt(
  reader: Reader,
  node: unknown,
  path: string,
  issue: Issue,
): never {
  return reader.fail(
    locate(node, issue.at),
    issue.at.reduce<string>(join, path),
    issue.problem,
  );
}

/**
 * A scalar: `is` checks the type and range (else "expected ..., got ..."),
 * `rule` may then name a more specific problem; `shown` is the value as
 * written, for its message.
 */
export function scalar<T>(
  expected: string,
  is: (value: unknown) => value is T,
  rule?: (value: T, shown: string) => string | undefined,
): Schema<T> {
  return {
    expected,
    read(node: unknown, path: string, reader: Reader) {
      node = reader.deref(node, path);
      const value = isScalar(node) ? node.value : node;
      if (isMap(node) || isSeq(node) || !is(value)) {
        reader.fail(node, path, `expected ${expected}, got ${describe(node)}`);
      }
      const problem = rule?.(value, describe(node));
      if (problem !== undefined) reader.fail(node, path, problem);
      return value;
    },
  };
}

/** One of a fixed set of strings. */
export function oneOf<const T extends string>(
  values: readonly T[],
): Schema<T> {
  const quoted = values.map((v) => JSON.stringify(v));
  const expected = quoted.length === 1
    ? quoted[0]!
    : `${quoted.slice(0, -1).join(", ")} or ${quoted.at(-1)}`;
  return scalar(
    expected,
    (v): v is T => values.includes(v as T),
  );
}

/**
 * An integer from `min` to `max`, or from `min` up (`min` 0 or 1), as
 * messages name it: "an integer from 0 to 65535", "a positive integer".
 */
export function integer(min: number, max?: number): Schema<number> {
  const expected = max !== undefined
    ? `an integer from ${min} to ${max}`
    : min === 0
    ? "a non-negative integer"
    : "a positive integer";
  return scalar(
    expected,
    (v): v is number =>
      Number.isSafeInteger(v) && (v as number) >= min &&
      (v as number) <= (max ?? Infinity),
  );
}

/**
 * A non-negative (`min` 0) or positive (`min` 1) integer with a ceiling the
 * runtime sets, such as the longest timer: a value below `min` reads
 * "expected a positive integer", one past `max` "expected an integer from 1
 * to 2147483647", so the limit is named where it is the problem.
 */
export function integerUpTo(min: 0 | 1, max: number): Schema<number> {
  return scalar(
    min === 0 ? "a non-negative integer" : "a positive integer",
    (v): v is number => Number.isInteger(v) && (v as number) >= min,
    (v, shown) =>
      v > max
        ? `expected an integer from ${min} to ${max}, got ${shown}`
        : undefined,
  );
}

/** Reports `key` when it is not at least, or at most, `other`. */
export function compare<T>(
  key: keyof T & string,
  bound: "at least" | "at most",
  other: keyof T & string,
): (value: T) => Issue | undefined {
  return (value) => {
    const a = value[key] as number;
    const b = value[other] as number;
    if (bound === "at least" ? a >= b : a <= b) return undefined;
    return {
      at: [key],
      problem: `expected ${bound} ${other} (${b}), got ${a}`,
    };
  };
}

/** Reports the second item of a list that reuses a name. */
export function uniqueNames(
  what: string,
): (values: readonly { name: string }[], path: string) => Issue | undefined {
  return (values, path) => {
    const first = new Map<string, number>();
    for (const [i, { name }] of values.entries()) {
      const j = first.get(name);
      if (j !== undefined) {
        return {
          at: [i, "name"],
          problem:
            `duplicate ${what} name "${name}" (also used by ${path}[${j}])`,
        };
      }
      first.set(name, i);
    }
    return undefined;
  };
}

/** `schema`, with `value` when the key is absent. */
export function withDefault<T>(schema: Schema<T>, value: T): Schema<T> {
  return { ...schema, absent: { value } };
}

/** `schema`, for a key that may be left out. */
export function optional<T>(schema: Schema<T>): Schema<T> {
  return { ...schema, absent: { value: undefined } };
}

/**
 * A mapping with known keys. An absent key takes the base value, else its
 * default, else is missing; nested objects merge into their base.
 */
export function object<T>(
  expected: string,
  fields: Fields<T>,
  refine?: (value: T) => Issue | undefined,
): Schema<T> {
  return mapping(expected, fields, undefined, refine);
}

/**
 * A mapping with known keys, as {@linkcode object}, and free ones read by
 * `rest` and kept under their names: a drift detector's `kind` and `input`,
 * then the options of its kind.
 */
export function openObject<T>(
  expected: string,
  fields: Fields<T>,
  rest: Schema<unknown>,
  refine?: (value: T) => Issue | undefined,
): Schema<T> {
  return mapping(expected, fields, rest, refine);
}

function mapping<T>(
  expected: string,
  fields: Fields<T>,
  rest: Schema<unknown> | undefined,
  refine: ((value: T) => Issue | undefined) | undefined,
): Schema<T> {
  const schemas = fields as Readonly<Record<string, Schema<unknown>>>;
  const names = Object.keys(schemas);
  const self: Schema<T> = {
    expected,
    read(node: unknown, path: string, reader: Reader, base?: T) {
      node = reader.deref(node, path);
      const given = new Map<string, unknown>();
      const free = new Map<string, unknown>();
      for (const pair of pairsOf(self, node, path, reader)) {
        const [key, keyNode, value] = entry(pair, node, path, reader);
        const schema = Object.hasOwn(schemas, key) ? schemas[key] : undefined;
        if (schema === undefined && rest !== undefined) {
          free.set(key, rest.read(value, join(path, key), reader));
          continue;
        }
        if (schema === undefined) {
          reader.fail(
            keyNode,
            join(path, key),
            `unknown key (expected one of: ${names.join(", ")})`,
          );
        }
        const inner = (base as Record<string, unknown> | undefined)?.[key];
        given.set(key, schema.read(value, join(path, key), reader, inner));
      }
      const out: Record<string, unknown> = {};
      for (const name of names) {
        const absent = schemas[name]!.absent;
        // A default is copied: a shared (or frozen) list must not leak out.
        const value = given.has(name)
          ? given.get(name)
          : base !== undefined
          ? (base as Record<string, unknown>)[name]
          : absent
          ? structuredClone(absent.value)
          : reader.fail(node, join(path, name), "missing required key");
        if (value !== undefined) out[name] = value;
      }
      for (const [key, value] of free) {
        // Defined, not assigned: a key named "__proto__" stays a key.
        Object.defineProperty(out, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      const issue = refine?.(out as T);
      if (issue) failAt(reader, node, path, issue);
      return out as T;
    },
  };
  return self;
}

/** Options of {@linkcode array}. */
export interface ArrayOptions<T> {
  /** The fewest items. */
  min?: number;
  /** Checks the items together, e.g. for order or duplicates. */
  refine?: (values: readonly T[], path: string) => Issue | undefined;
}

/** A sequence; it replaces its base as a whole. */
export function array<T>(
  item: Schema<T>,
  options: ArrayOptions<T> = {},
): Schema<readonly T[]> {
  const { min = 0, refine } = options;
  const expected = min > 0 ? "a non-empty sequence" : "a sequence";
  return {
    expected,
    read(node: unknown, path: string, reader: Reader) {
      node = reader.deref(node, path);
      if (!isEmpty(node) && !isSeq(node)) {
        reader.fail(node, path, `expected ${expected}, got ${describe(node)}`);
      }
      const items = isSeq(node) ? node.items : [];
      if (items.length < min) {
        reader.fail(node, path, `expected ${expected}, got an empty sequence`);
      }
      const values = items.map((n, i) => item.read(n, join(path, i), reader));
      const issue = refine?.(values, path);
      if (issue) failAt(reader, node, path, issue);
      return values;
    },
  };
}

/** A mapping of free keys to values of one kind; it replaces its base. */
export function record<V>(
  key: Schema<string>,
  value: Schema<V>,
): Schema<Readonly<Record<string, V>>> {
  const self: Schema<Readonly<Record<string, V>>> = {
    expected: "a mapping",
    read(node: unknown, path: string, reader: Reader) {
      node = reader.deref(node, path);
      const out: Record<string, V> = {};
      for (const pair of pairsOf(self, node, path, reader)) {
        const [name, keyNode, valueNode] = entry(pair, node, path, reader);
        const at = join(path, name);
        out[key.read(keyNode, at, reader)] = value.read(valueNode, at, reader);
      }
      return out;
    },
  };
  return self;
}

/**
 * A mapping whose `tag` key picks the schema of the rest. It replaces its
 * base as a whole: changing one field of a variant means restating it.
 */
export function union<T extends Record<K, string>, K extends string>(
  tag: K,
  variants: { readonly [V in T[K]]: Schema<Extract<T, Record<K, V>>> },
): Schema<T> {
  const schemas = variants as Readonly<Record<string, Schema<T>>>;
  const tagSchema = oneOf(Object.keys(schemas));
  const self: Schema<T> = {
    expected: "a mapping",
    read(node: unknown, path: string, reader: Reader) {
      node = reader.deref(node, path);
      const pair = pairsOf(self, node, path, reader).find((p) =>
        isScalar(p.key) && p.key.value === tag
      );
      if (pair === undefined) {
        reader.fail(node, join(path, tag), "missing required key");
      }
      const [, , value] = entry(pair, node, path, reader);
      const variant = tagSchema.read(value, join(path, tag), reader);
      return schemas[variant]!.read(node, path, reader);
    },
  };
  return self;
}
