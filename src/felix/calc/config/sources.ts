/**
 * The local config sources: `FELIX_*` environment variables and the INI config file. Names are
 * matched case-insensitively against the known parameters; unknown names keep their spelling.
 * Empty values mean "not set".
 */
import { KNOWN_BY_LOWER } from "./names.js";

const ENV_PREFIX = "FELIX_";

function canonicalName(name: string): string {
  return KNOWN_BY_LOWER.get(name.toLowerCase()) ?? name;
}

/** `FELIX_<Param>` variables as `Param → value`. */
export function configFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || value === "") continue;
    if (key.slice(0, ENV_PREFIX.length).toUpperCase() !== ENV_PREFIX) continue;
    out[canonicalName(key.slice(ENV_PREFIX.length))] = value;
  }
  return out;
}

/** The INI file's `Name = value` lines, from any section; `#` and `;` start comments. */
export function configFromFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";") || line.startsWith("[")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    const value = line.slice(eq + 1).trim();
    if (value !== "") out[canonicalName(line.slice(0, eq).trim())] = value;
  }
  return out;
}
