/**
 * Mark bits taken from the configured mask, lowest bit first, in Calico's allocation order, so a
 * site that moves the mask moves every verdict bit with it.
 */
export interface MarkBits {
  accept: number;
  pass: number;
  drop: number;
  scratch0: number;
  scratch1: number;
}

export function allocateMarks(mask = 0xffff0000): MarkBits {
  const bits: number[] = [];
  for (let bit = 0; bit < 32 && bits.length < 5; bit++) {
    const v = 2 ** bit;
    if (Math.floor(mask / v) % 2 === 1) bits.push(v);
  }
  const [accept, pass, drop, scratch0, scratch1] = bits;
  if (
    scratch1 === undefined ||
    accept === undefined ||
    pass === undefined ||
    drop === undefined ||
    scratch0 === undefined
  )
    throw new Error(`mark mask 0x${mask.toString(16)} has fewer than 5 bits`);
  return { accept, pass, drop, scratch0, scratch1 };
}

export function hex(v: number): string {
  return `0x${v.toString(16).padStart(8, "0")}`;
}

/** `meta mark & bits == bits` (or `== 0` when `set` is false). */
export function markMatch(bits: number, set: boolean): string {
  return `meta mark & ${hex(bits)} == ${set ? hex(bits) : hex(0)}`;
}

/** `meta mark & bits != 0`: any of the bits is set. */
export function markAny(bits: number): string {
  return `meta mark & ${hex(bits)} != ${hex(0)}`;
}

export function markSet(bits: number): string {
  return `meta mark set meta mark | ${hex(bits)}`;
}

export function markClear(bits: number): string {
  return `meta mark set meta mark & ${hex(~bits >>> 0)}`;
}
