// Decimal number syntax shared by the StatsD and text-format parsers.
// Internal: not re-exported.

const PLUS = 43;
const MINUS = 45;
const DOT = 46;
const ZERO = 48;
const NINE = 57;
const LOWER_E = 101;
const UPPER_E = 69;

/**
 * Parses `text[start, end)` as `[+-]digits[.digits][(e|E)[+-]digits]` (or
 * with the digits only after the dot), as Go's `strconv.ParseFloat` reads
 * decimals; anything else is NaN, where `Number()` would also take hex,
 * binary, `Infinity`, surrounding spaces and the empty string. A decimal
 * too large for a double gives ±Infinity.
 */
export function parseDecimal(text: string, start: number, end: number): number {
  if (start >= end) return NaN;
  let i = start;
  let code = text.charCodeAt(i);
  if (code === PLUS || code === MINUS) code = text.charCodeAt(++i);
  let digits = 0;
  while (i < end && code >= ZERO && code <= NINE) {
    digits++;
    code = text.charCodeAt(++i);
  }
  if (i < end && code === DOT) {
    code = text.charCodeAt(++i);
    while (i < end && code >= ZERO && code <= NINE) {
      digits++;
      code = text.charCodeAt(++i);
    }
  }
  if (digits === 0) return NaN;
  if (i < end && (code === LOWER_E || code === UPPER_E)) {
    code = text.charCodeAt(++i);
    if (i < end && (code === PLUS || code === MINUS)) {
      code = text.charCodeAt(++i);
    }
    let exponent = 0;
    while (i < end && code >= ZERO && code <= NINE) {
      exponent++;
      code = text.charCodeAt(++i);
    }
    if (exponent === 0) return NaN;
  }
  if (i !== end) return NaN;
  return Number(text.slice(start, end));
}
