// How error messages state a value a metric refused. Internal.

/**
 * The value as a message states it: strings quoted (so `"1"` is told from
 * `1`), other types as their kind when their text says little.
 */
export function stateValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(
        value.length > 40 ? `${value.slice(0, 40)}…` : value,
      );
    case "bigint":
      return `${value}n`;
    case "symbol":
      return value.toString();
    case "function":
      return "a function";
    case "object":
      return value === null
        ? "null"
        : Array.isArray(value)
        ? "an array"
        : "an object";
    default:
      return String(value);
  }
}

/** The kind of a value that is not a number, for "got a string". */
export function kindOf(value: unknown): string {
  if (value === null) return "null";
  const type = typeof value;
  if (type === "undefined") return "undefined";
  if (type === "object") return Array.isArray(value) ? "an array" : "an object";
  return `a ${type}`;
}
