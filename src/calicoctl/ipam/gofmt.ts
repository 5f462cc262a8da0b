/** Go's `%.Ng` and `%.f` number formatting, which calicoctl's outputs are made of. */

function stripFraction(text: string): string {
  return text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text;
}

/** Go `%.{precision}g`: shortest of fixed/scientific by Go's rule, trailing zeros removed. */
export function goG(value: number, precision = 5): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value === 0) return "0";
  const [mantissa = "", expText = "0"] = value.toExponential(precision - 1).split("e");
  const exp = Number(expText);
  if (exp < -4 || exp >= precision) {
    const sign = exp < 0 ? "-" : "+";
    return `${stripFraction(mantissa)}e${sign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  return stripFraction(value.toFixed(Math.max(0, precision - 1 - exp)));
}

/** Go `%.f`: rounds to an integer, ties to even. */
export function goRound0(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "+Inf" : "-Inf";
  const floor = Math.floor(value);
  const diff = value - floor;
  let r = diff > 0.5 ? floor + 1 : diff < 0.5 ? floor : floor % 2 === 0 ? floor : floor + 1;
  if (Object.is(r, -0)) r = 0;
  return String(r);
}
