/**
 * calico-ts's own version, shared by every binary: the package version, and the git commit
 * recorded by the build in `build-info.json` at the package root (`{"gitCommit": "<sha>"}`).
 */
import { readFileSync } from "node:fs";

const PACKAGE_ROOT = new URL("../../", import.meta.url);

function readJSON(name: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(new URL(name, PACKAGE_ROOT), "utf8"));
    return typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function packageVersion(): string {
  const version = readJSON("package.json")?.version;
  return typeof version === "string" ? `v${version}` : "unknown";
}

export function gitCommit(): string {
  const commit = readJSON("build-info.json")?.gitCommit;
  return typeof commit === "string" && commit !== "" ? commit : "unknown";
}

/** `x.y.z` of a version string: leading `v` and any `-suffix` dropped, as Calico compares them. */
export function releaseOf(version: string): string {
  return version.replace(/^v/, "").split("-")[0] ?? "";
}
