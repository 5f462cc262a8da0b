/** `calico -v`: the calico-ts package version. */
import { readFileSync } from "node:fs";

export function versionString(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version?: string;
  };
  return `v${pkg.version ?? "unknown"}`;
}
