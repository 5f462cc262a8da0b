/**
 * A JSON codec that keeps integers beyond 2^53 exact. Calico's block sequence numbers start at
 * wall-clock nanoseconds (~1.8e18), which `JSON.parse` would silently round; here such integers
 * come back as `bigint` and `bigint` values are written as bare JSON integers.
 */

export type BigJsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | BigJsonValue[]
  | { [key: string]: BigJsonValue };

export class BigJsonSyntaxError extends SyntaxError {
  override name = "BigJsonSyntaxError";
}

class Parser {
  pos = 0;
  constructor(readonly text: string) {}

  fail(what: string): never {
    throw new BigJsonSyntaxError(`invalid JSON at offset ${this.pos}: ${what}`);
  }

  skipSpace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      this.pos++;
    }
  }

  value(): BigJsonValue {
    this.skipSpace();
    const c = this.text[this.pos];
    switch (c) {
      case "{":
        return this.object();
      case "[":
        return this.array();
      case '"':
        return this.string();
      case "t":
        return this.literal("true", true);
      case "f":
        return this.literal("false", false);
      case "n":
        return this.literal("null", null);
      default:
        return this.number();
    }
  }

  literal<T>(word: string, result: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`expected ${word}`);
    this.pos += word.length;
    return result;
  }

  number(): number | bigint {
    const m = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    m.lastIndex = this.pos;
    const match = m.exec(this.text);
    if (!match || match[0] === "" || match[0] === "-") this.fail("expected a value");
    this.pos += match[0].length;
    const literal = match[0];
    const n = Number(literal);
    if (match[1] === undefined && match[2] === undefined && !Number.isSafeInteger(n)) return BigInt(literal);
    return n;
  }

  string(): string {
    // The closing quote is the first unescaped one; JSON.parse then handles escapes exactly.
    const t = this.text;
    let i = this.pos + 1;
    while (i < t.length) {
      const c = t[i];
      if (c === "\\") i += 2;
      else if (c === '"') break;
      else i++;
    }
    if (i >= t.length) this.fail("unterminated string");
    const raw = t.slice(this.pos, i + 1);
    this.pos = i + 1;
    try {
      return JSON.parse(raw) as string;
    } catch {
      return this.fail("bad string");
    }
  }

  array(): BigJsonValue[] {
    this.pos++;
    const out: BigJsonValue[] = [];
    this.skipSpace();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === "]") return out;
      if (c !== ",") this.fail("expected , or ]");
    }
  }

  object(): { [key: string]: BigJsonValue } {
    this.pos++;
    const out: { [key: string]: BigJsonValue } = {};
    this.skipSpace();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] !== '"') this.fail("expected a key");
      const key = this.string();
      this.skipSpace();
      if (this.text[this.pos++] !== ":") this.fail("expected :");
      const v = this.value();
      // Own data property even for "__proto__", so a hostile key cannot reach the prototype.
      Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      const c = this.text[this.pos++];
      if (c === "}") return out;
      if (c !== ",") this.fail("expected , or }");
    }
  }
}

/** Parses JSON; integer literals outside the safe range come back as `bigint`. */
export function parseBigJson(text: string): BigJsonValue {
  return parseNative(text) ?? parseExact(text);
}

/** The character-by-character parser: the reference, and the fallback for what parseNative declines. */
export function parseExact(text: string): BigJsonValue {
  const p = new Parser(text);
  const v = p.value();
  p.skipSpace();
  if (p.pos !== text.length) p.fail("trailing characters");
  return v;
}

/** A run of 16 or more digits: every integer literal beyond 2^53 is one (and some safe ones). */
const LONG_DIGITS = /-?\d{16,}/g;
/** A whole long run, as it reads after the NUL of a wrapped one. */
const WRAPPED_RUN = /^-?\d{16,}$/;
const isWrapped = (s: string): boolean => s.charCodeAt(0) === 0 && WRAPPED_RUN.test(s.slice(1));
/** A JSON integer literal (no leading zero), as LONG_DIGITS saw it. */
const INTEGER = /^-?[1-9]\d*$/;

class NotNative extends Error {}

/**
 * V8's JSON.parse, several times faster than the parser above on a block (most of the cost of
 * an allocation's decode). Each long digit run is first wrapped as a string, `"\u0000<run>"`,
 * and turned back into a number (bigint beyond 2^53) after parsing. A run that was not a whole
 * integer token cannot survive the wrap: inside a string, the inserted quote ends the string and
 * leaves `\u0000` outside one; inside a fraction or exponent, a string lands next to a number;
 * either way JSON.parse fails. What remains ambiguous (a wrapped run with a leading zero or used
 * as an object key, a stored string that looks wrapped) is declined too. Declined means undefined: the caller uses parseExact, which
 * also writes the error message for text that is not JSON.
 */
function parseNative(text: string): BigJsonValue | undefined {
  const quoted = text.replace(LONG_DIGITS, '"\\u0000$&"');
  try {
    const v = JSON.parse(quoted) as BigJsonValue;
    if (quoted.length === text.length) return v;
    // Each wrap adds 8 characters. A stored string spelling NUL and digits with escapes
    // (`"\u0000\u0031…"`) would look wrapped: then more strings look wrapped than were.
    const seen = { wrapped: 0 };
    const out = unwrapBig(v, seen);
    return seen.wrapped * 8 === quoted.length - text.length ? out : undefined;
  } catch {
    return undefined;
  }
}

/** Turns wrapped runs back into numbers; throws (so parseNative declines) on an ambiguous one. */
function unwrapBig(v: BigJsonValue, seen: { wrapped: number }): BigJsonValue {
  if (typeof v === "string") {
    if (!isWrapped(v)) return v;
    seen.wrapped++;
    const literal = v.slice(1);
    if (!INTEGER.test(literal)) throw new NotNative();
    const n = Number(literal);
    return Number.isSafeInteger(n) ? n : BigInt(literal);
  }
  if (v === null || typeof v !== "object") return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = unwrapBig(v[i] as BigJsonValue, seen);
    return v;
  }
  for (const key of Object.keys(v)) {
    if (isWrapped(key)) throw new NotNative();
    const inner = v[key] as BigJsonValue;
    const out = unwrapBig(inner, seen);
    // Own data property even for "__proto__" (JSON.parse made it one; plain assignment would not).
    if (out !== inner)
      Object.defineProperty(v, key, { value: out, enumerable: true, writable: true, configurable: true });
  }
  return v;
}

/**
 * JSON text; `bigint` is written as a bare integer and `undefined` object fields are dropped.
 * With `indent`, the layout matches Go's `json.MarshalIndent(v, "", indent)`.
 */
export function stringifyBigJson(value: unknown, indent = ""): string {
  return write(value, indent, "");
}

function write(value: unknown, indent: string, current: string): string {
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "object": {
      if (value === null) return "null";
      const inner = current + indent;
      const open = indent ? `\n${inner}` : "";
      const sep = indent ? `,\n${inner}` : ",";
      const close = indent ? `\n${current}` : "";
      if (Array.isArray(value)) {
        if (value.length === 0) return "[]";
        const items = value.map((v) => (v === undefined ? "null" : write(v, indent, inner)));
        return `[${open}${items.join(sep)}${close}]`;
      }
      const parts: string[] = [];
      const colon = indent ? ": " : ":";
      for (const [k, v] of Object.entries(value)) {
        if (v !== undefined) parts.push(`${JSON.stringify(k)}${colon}${write(v, indent, inner)}`);
      }
      if (parts.length === 0) return "{}";
      return `{${open}${parts.join(sep)}${close}}`;
    }
    default:
      return "null";
  }
}

/** A JSON integer as bigint: accepts number or bigint; undefined for anything else. */
export function toBigInt(v: BigJsonValue | undefined): bigint | undefined {
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  return undefined;
}
