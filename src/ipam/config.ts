/**
 * Global IPAM configuration: the stored form at `/calico/ipam/v2/config`, the v3
 * `IPAMConfiguration` spec, defaults, the write-time checks and the effective block cap.
 */
import { InvalidIPAMRequestError } from "./errors.js";

export interface IPAMConfig {
  strictAffinity: boolean;
  autoAllocateBlocks: boolean;
  /** 0 = not configured (the allocator then applies its safety cap). */
  maxBlocksPerHost: number;
  kubeVirtVMAddressPersistence: "Enabled" | "Disabled";
  ipCooldownSeconds: number;
}

/** What IPAM uses when nothing is stored; computed in memory, never written on read. */
export const DEFAULT_IPAM_CONFIG: Readonly<IPAMConfig> = Object.freeze({
  strictAffinity: false,
  autoAllocateBlocks: true,
  maxBlocksPerHost: 0,
  kubeVirtVMAddressPersistence: "Enabled",
  ipCooldownSeconds: 0,
});

/** Block cap applied when neither the request nor the configuration sets one. */
export const DEFAULT_BLOCK_CAP = 20;

function intOr(v: unknown, dflt: number): number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : dflt;
}

/** Decodes the v2 key. Its fields are all omitempty, so an absent field reads as false/0. */
export function decodeIPAMConfig(text: string): IPAMConfig {
  const v = JSON.parse(text) as Record<string, unknown>;
  return {
    strictAffinity: v.strict_affinity === true,
    autoAllocateBlocks: v.auto_allocate_blocks === true,
    maxBlocksPerHost: intOr(v.maxBlocksPerHost, 0),
    kubeVirtVMAddressPersistence: v.kubeVirtVMAddressPersistence === "Disabled" ? "Disabled" : "Enabled",
    ipCooldownSeconds: intOr(v.ipCooldownSeconds, 0),
  };
}

export function encodeIPAMConfig(c: IPAMConfig): string {
  return JSON.stringify({
    strict_affinity: c.strictAffinity || undefined,
    auto_allocate_blocks: c.autoAllocateBlocks || undefined,
    maxBlocksPerHost: c.maxBlocksPerHost || undefined,
    kubeVirtVMAddressPersistence: c.kubeVirtVMAddressPersistence,
    ipCooldownSeconds: c.ipCooldownSeconds || undefined,
  });
}

/** From a v3 `IPAMConfiguration` spec; missing fields take the defaults. */
export function configFromSpec(spec: Record<string, unknown> | undefined): IPAMConfig {
  const s = spec ?? {};
  return {
    strictAffinity: s.strictAffinity === true,
    autoAllocateBlocks: s.autoAllocateBlocks !== false,
    maxBlocksPerHost: intOr(s.maxBlocksPerHost, 0),
    kubeVirtVMAddressPersistence: s.kubeVirtVMAddressPersistence === "Disabled" ? "Disabled" : "Enabled",
    ipCooldownSeconds: intOr(s.ipCooldownSeconds, 0),
  };
}

export function specFromConfig(c: IPAMConfig): Record<string, unknown> {
  return {
    strictAffinity: c.strictAffinity,
    ...(c.maxBlocksPerHost ? { maxBlocksPerHost: c.maxBlocksPerHost } : {}),
    autoAllocateBlocks: c.autoAllocateBlocks,
    kubeVirtVMAddressPersistence: c.kubeVirtVMAddressPersistence,
    ...(c.ipCooldownSeconds ? { ipCooldownSeconds: c.ipCooldownSeconds } : {}),
  };
}

/** The cross-field rules Calico enforces when the configuration is written. */
export function validateIPAMConfig(c: IPAMConfig): void {
  if (!c.strictAffinity && !c.autoAllocateBlocks) {
    throw new InvalidIPAMRequestError(
      "Cannot disable 'StrictAffinity' and 'AutoAllocateBlocks' at the same time",
    );
  }
  if (c.maxBlocksPerHost > 0 && !c.strictAffinity) {
    throw new InvalidIPAMRequestError("MaxBlocksPerHost requires StrictAffinity to be enabled");
  }
  if (!Number.isInteger(c.maxBlocksPerHost) || c.maxBlocksPerHost < 0) {
    throw new InvalidIPAMRequestError("MaxBlocksPerHost must be a non-negative integer");
  }
  if (!Number.isInteger(c.ipCooldownSeconds) || c.ipCooldownSeconds < 0 || c.ipCooldownSeconds > 1200) {
    throw new InvalidIPAMRequestError("IPCooldownSeconds must be between 0 and 1200");
  }
}

/** The smaller of two non-zero caps, whichever is set otherwise, and the safety cap when neither is. */
export function effectiveBlockCap(requested: number | undefined, configured: number): number {
  const r = requested ?? 0;
  if (r > 0 && configured > 0) return Math.min(r, configured);
  if (r > 0) return r;
  if (configured > 0) return configured;
  return DEFAULT_BLOCK_CAP;
}
