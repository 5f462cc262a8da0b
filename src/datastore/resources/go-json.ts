/**
 * JSON text as Go's encoding/json writes it, so stored values are byte-identical to Calico's:
 * compact, and `<`, `>`, `&`, U+2028 and U+2029 escaped as \uXXXX (JSON.stringify leaves them
 * raw). Those characters can only occur inside strings, so escaping the whole text is safe.
 */
const GO_ESCAPES: Record<string, string> = {
  "<": "\\u003c",
  ">": "\\u003e",
  "&": "\\u0026",
  "\u2028": "\\u2028",
  "\u2029": "\\u2029",
};

export function goJSON(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}

/** Go marshals maps with their keys sorted. */
export function sortedMap(map: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(map).sort()) out[key] = map[key]!;
  return out;
}
