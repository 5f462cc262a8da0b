/**
 * CNI specification versions. Calico speaks 0.1.0 through 1.0.0; calico-ts also speaks 1.1.0,
 * whose results are shaped like 1.0.0's and which adds the STATUS and GC verbs.
 */
import { CniError, ErrorCode } from "./errors.js";

export const SUPPORTED_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export const CURRENT_VERSION = "1.1.0";

/** Compares dotted versions numerically; undefined when either is not `x.y.z`. */
export function compareVersions(a: string, b: string): number | undefined {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) return undefined;
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function parseVersion(v: string): number[] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

export function assertSupportedVersion(version: string): void {
  if (!(SUPPORTED_VERSIONS as readonly string[]).includes(version)) {
    throw new CniError(
      ErrorCode.incompatibleVersion,
      `unsupported CNI version ${version}`,
      `supported versions: ${SUPPORTED_VERSIONS.join(", ")}`,
    );
  }
}

/** CHECK arrived in 0.4.0, STATUS and GC in 1.1.0; older configs may not use them. */
export function assertVerbAllowed(command: string, version: string): void {
  const since =
    command === "CHECK" ? "0.4.0" : command === "STATUS" || command === "GC" ? "1.1.0" : undefined;
  if (since && (compareVersions(version, since) ?? -1) < 0) {
    throw new CniError(
      ErrorCode.incompatibleVersion,
      `config version does not allow ${command}`,
      `${command} needs cniVersion ${since} or later; the network config says ${version}`,
    );
  }
}

export function versionInfo(): { cniVersion: string; supportedVersions: string[] } {
  return { cniVersion: CURRENT_VERSION, supportedVersions: [...SUPPORTED_VERSIONS] };
}
