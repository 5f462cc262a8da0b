/**
 * Go `time.Duration` text: parsing (`time.ParseDuration`) and printing (`Duration.String`).
 * Calico's Duration fields are decoded with the former and re-encoded with the latter, so a
 * stored `90s` reads back as `1m30s`. Values are nanoseconds held as bigint to stay exact.
 */

const unitNanos: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

const component = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/;
const MAX_NANOS = (1n << 63n) - 1n;

/** Nanoseconds, or undefined when the text is not a Go duration. */
export function parseGoDuration(text: string): bigint | undefined {
  let rest = text;
  let negative = false;
  if (rest.startsWith("-") || rest.startsWith("+")) {
    negative = rest.startsWith("-");
    rest = rest.slice(1);
  }
  if (rest === "0") return 0n;
  if (rest === "") return undefined;
  let total = 0n;
  while (rest !== "") {
    const m = component.exec(rest);
    if (!m) return undefined;
    const whole = m[1] ?? "";
    const frac = m[2] ?? "";
    if (whole === "" && frac === "") return undefined;
    const unit = unitNanos[m[3]!]!;
    let value = BigInt(whole || "0") * unit;
    if (frac !== "") value += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    total += value;
    if (total > MAX_NANOS) return undefined;
    rest = rest.slice(m[0].length);
  }
  return negative ? -total : total;
}

function trimFraction(whole: bigint, frac: bigint, digits: number): string {
  if (frac === 0n) return whole.toString();
  const text = frac.toString().padStart(digits, "0").replace(/0+$/, "");
  return `${whole}.${text}`;
}

/** Go's `Duration.String()`: `1h2m3.5s`, `1m30s`, `500ms`, `0s`. */
export function formatGoDuration(nanos: bigint): string {
  if (nanos === 0n) return "0s";
  const sign = nanos < 0n ? "-" : "";
  const n = nanos < 0n ? -nanos : nanos;
  if (n < 1_000n) return `${sign}${n}ns`;
  if (n < 1_000_000n) return `${sign}${trimFraction(n / 1_000n, n % 1_000n, 3)}µs`;
  if (n < 1_000_000_000n) return `${sign}${trimFraction(n / 1_000_000n, n % 1_000_000n, 6)}ms`;
  const hours = n / 3_600_000_000_000n;
  const minutes = (n / 60_000_000_000n) % 60n;
  const seconds = trimFraction((n / 1_000_000_000n) % 60n, n % 1_000_000_000n, 9);
  if (hours > 0n) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0n) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

/** Re-prints a duration string in Go's canonical form; other values are returned unchanged. */
export function canonicalDuration(value: unknown): unknown {
  if (typeof value !== "string") return value;
  const nanos = parseGoDuration(value);
  return nanos === undefined ? value : formatGoDuration(nanos);
}
