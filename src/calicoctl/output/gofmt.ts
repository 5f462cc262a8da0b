/**
 * Go's `%v` rendering of the values calicoctl's table templates print, so table cells read as
 * Calico's do (`1e+06` for a tier order, `<nil>` for an unset pointer, `{a b}` for a struct).
 */

/** `%v` of a float64: shortest digits, exponent form from 1e+06 and below 1e-04. */
export function goFloat(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (!Number.isFinite(n)) return n > 0 ? "+Inf" : "-Inf";
  if (n === 0) return Object.is(n, -0) ? "-0" : "0";
  const [mantissa = "", exponentText = "0"] = n.toExponential().split("e");
  const exponent = Number(exponentText);
  if (exponent < -4 || exponent >= 6) {
    const sign = exponent < 0 ? "-" : "+";
    return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  return String(n);
}

/** `%v` of a decoded JSON value: unset pointers are `<nil>`, maps `map[k:v]`, structs `{v v}`. */
export function goValue(value: unknown): string {
  if (value === undefined || value === null) return "<nil>";
  if (typeof value === "string") return value;
  if (typeof value === "number") return Number.isInteger(value) ? String(value) : goFloat(value);
  if (typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[${value.map(goValue).join(" ")}]`;
  return `{${Object.values(value as Record<string, unknown>)
    .map(goValue)
    .join(" ")}}`;
}

/** A non-pointer field: unset prints its zero value. */
export function goString(value: unknown): string {
  return value === undefined || value === null ? "" : goValue(value);
}

export function goBool(value: unknown): string {
  return value === true ? "true" : "false";
}

export function goInt(value: unknown): string {
  return typeof value === "number" ? String(value) : "0";
}

/**
 * calicoctl's `join`/`joinAndTruncate`: list items (or a map's sorted `k=v` pairs) joined by
 * `sep`, cut to `maxLen` characters ending in `...` when `maxLen` is positive.
 */
export function goJoin(items: unknown, sep: string, maxLen = 0): string {
  if (items === undefined || items === null) return "";
  let list: unknown[];
  if (Array.isArray(items)) list = items;
  else if (typeof items === "object") {
    list = Object.entries(items as Record<string, unknown>)
      .map(([k, v]) => `${k}=${goValue(v)}`)
      .sort();
  } else list = [items];
  let text = "";
  for (const [i, item] of list.entries()) {
    text += (i > 0 ? sep : "") + goValue(item);
    if (maxLen > 0 && text.length > maxLen) return `${text.slice(0, maxLen - 3)}...`;
  }
  return text;
}
