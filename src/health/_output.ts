// Turning what checks return or throw into short outputs. Internal.

// Outputs land in every health body: keep a misbehaving check's short.
const MAX_OUTPUT_LENGTH = 1024;

/** The message of an error, never its stack; bounded. */
export function errorMessage(error: unknown): string {
  // DOMException is an Error in Deno.
  if (error instanceof Error) return truncate(error.message || error.name);
  return truncate(String(error));
}

/** Cuts a text to at most MAX_OUTPUT_LENGTH characters. */
export function truncate(text: string): string {
  return text.length <= MAX_OUTPUT_LENGTH
    ? text
    : `${text.slice(0, MAX_OUTPUT_LENGTH - 1)}…`;
}
