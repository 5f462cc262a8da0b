/**
 * `-o yaml` and `-o json` as calicoctl writes them. JSON keeps Go's field order (the caller
 * passes canonical objects), is indented by two spaces, escapes `<`, `>`, `&` as Go does, and
 * has no trailing newline. YAML is Go's JSON → YAML conversion: map keys sorted the way Go's
 * yaml.v2 sorts them, sequences at their parent key's indentation, and strings that would read
 * as another type (timestamps, numbers, `yes`) quoted.
 */
import { stringify } from "yaml";

const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

export function toJSON(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}

const isLetter = (c: string) => /\p{L}/u.test(c);
const isDigit = (c: string) => c >= "0" && c <= "9";

/**
 * yaml.v2's key order: at the first difference, letters compare by code point, non-letters
 * sort before letters, and runs of digits compare as numbers (`port9` before `port10`).
 */
export function yamlKeyCompare(a: string, b: string): number {
  const ar = [...a];
  const br = [...b];
  for (let i = 0; i < ar.length && i < br.length; i++) {
    const ca = ar[i]!;
    const cb = br[i]!;
    if (ca === cb) continue;
    const la = isLetter(ca);
    const lb = isLetter(cb);
    if (la && lb) return ca < cb ? -1 : 1;
    if (la || lb) return la ? 1 : -1;
    let ai = i;
    let bi = i;
    while (ai < ar.length && isDigit(ar[ai]!)) ai++;
    while (bi < br.length && isDigit(br[bi]!)) bi++;
    const an = ai > i ? BigInt(ar.slice(i, ai).join("")) : 0n;
    const bn = bi > i ? BigInt(br.slice(i, bi).join("")) : 0n;
    if (an !== bn) return an < bn ? -1 : 1;
    if (ai !== bi) return ai - bi;
    return ca < cb ? -1 : 1;
  }
  return ar.length - br.length;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== "object" || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort(yamlKeyCompare)) {
    const v = (value as Record<string, unknown>)[key];
    if (v !== undefined) out[key] = sortKeys(v);
  }
  return out;
}

export function toYAML(value: unknown): string {
  return stringify(sortKeys(value), { version: "1.1", indentSeq: false, lineWidth: 0, minContentWidth: 0 });
}
