/** Options of {@linkcode ConfigError}. */
export interface ConfigErrorOptions {
  /**
   * The key path of the offending value, such as `"server.port"` or
   * `"health.checks[1].port"`; empty for the document as a whole.
   * @default {""}
   */
  path?: string;
  /**
   * The 1-based line of the offending node; none for an environment variable.
   * @default {undefined}
   */
  line?: number;
  /**
   * The 1-based column of the offending node; none for an environment variable.
   * @default {undefined}
   */
  column?: number;
  /**
   * The error that caused this one, such as a failed file read.
   * @default {undefined}
   */
  cause?: unknown;
}

/**
 * Thrown when a configuration file or a `VIGIL_*` variable is unreadable or
 * invalid. The message names the place and the key, so the CLI prints it
 * as it is, without a stack:
 * `config.yaml:4:9: server.port: expected an integer from 0 to 65535, got "http"`.
 *
 * @example Read where the problem is
 * ```ts
 * import { ConfigError, parseConfig } from "@vigil/observe/config";
 * import assert from "node:assert/strict";
 *
 * try {
 *   parseConfig("server:\n  port: http\n", "config.yaml");
 *   assert.fail("expected a ConfigError");
 * } catch (error) {
 *   assert.ok(error instanceof ConfigError);
 *   assert.equal(error.line, 2);
 *   assert.equal(error.column, 9);
 *   assert.equal(error.path, "server.port");
 *   assert.equal(
 *     error.message,
 *     'config.yaml:2:9: server.port: expected an integer from 0 to 65535, got "http"',
 *   );
 * }
 * ```
 */
export class ConfigError extends Error {
  /** The file path, or the environment variable such as `"VIGIL_PORT"`. */
  readonly source: string;
  /** The 1-based line, or `undefined` when the source has no lines. */
  readonly line: number | undefined;
  /** The 1-based column, or `undefined` when the source has no lines. */
  readonly column: number | undefined;
  /** The key path, such as `"health.checks[1].port"`; empty for the whole document. */
  readonly path: string;
  /** What is wrong, without the place: `unknown key (expected one of: ...)`. */
  readonly problem: string;

  /**
   * Creates the error.
   *
   * @param source The file path or the environment variable.
   * @param problem What is wrong, lower case, without the place.
   * @param options The key path, the position and the cause.
   */
  constructor(
    source: string,
    problem: string,
    options: ConfigErrorOptions = {},
  ) {
    const { path = "", line, column, cause } = options;
    const place = line === undefined ? source : `${source}:${line}:${column}`;
    super(
      `${place}: ${path === "" ? "" : `${path}: `}${problem}`,
      cause === undefined ? undefined : { cause },
    );
    this.name = "ConfigError";
    this.source = source;
    this.line = line;
    this.column = column;
    this.path = path;
    this.problem = problem;
  }
}
