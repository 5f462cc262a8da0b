/**
 * A Typha client's settings from Calico's parameters: `TyphaAddr` (a comma-separated list here,
 * tried in turn for failover), `TyphaReadTimeout`/`TyphaWriteTimeout` (seconds) and the TLS set
 * `TyphaCAFile`, `TyphaCertFile`, `TyphaKeyFile`, `TyphaCN`, `TyphaURISAN`. Felix reads them from
 * its own config; confd reads `<prefix>TYPHA<NAME>` variables as Calico's confd does.
 */
import type { ClientTls } from "./client.js";
import { parseAddress } from "./client.js";
import { readTlsFiles, TlsConfigError } from "./tls.js";

export interface TyphaClientSettings {
  addresses: string[];
  readTimeoutMs: number;
  writeTimeoutMs: number;
  tls?: ClientTls;
}

const NAMES = [
  "Addr",
  "ReadTimeout",
  "WriteTimeout",
  "CAFile",
  "CertFile",
  "KeyFile",
  "CN",
  "URISAN",
] as const;

/** Calico confd's lookup: the first of `<prefix>TYPHA<NAME>` that is set, per name. */
export function typhaParamsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  prefixes: readonly string[] = ["CONFD_", "FELIX_", "CALICO_"],
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of NAMES) {
    for (const prefix of prefixes) {
      const v = env[`${prefix}TYPHA${name.toUpperCase()}`];
      if (v && v !== "none") {
        out[`Typha${name}`] = v;
        break;
      }
    }
  }
  return out;
}

function seconds(raw: Readonly<Record<string, string>>, name: string, dflt: number): number {
  const v = raw[name];
  if (v === undefined) return dflt;
  if (!/^\d+(\.\d+)?$/.test(v.trim()))
    throw new TlsConfigError(`invalid value for ${name}: '${v}' (expected a number of seconds)`);
  return Number(v.trim());
}

/** Undefined when no TyphaAddr is set (then the client talks to etcd directly). */
export function typhaClientSettings(raw: Readonly<Record<string, string>>): TyphaClientSettings | undefined {
  const addrText = raw.TyphaAddr?.trim();
  if (!addrText) return undefined;
  const addresses = addrText
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a);
  for (const a of addresses) {
    try {
      parseAddress(a);
    } catch (err) {
      throw new TlsConfigError(`invalid value for TyphaAddr: ${(err as Error).message}`);
    }
  }
  const settings: TyphaClientSettings = {
    addresses,
    readTimeoutMs: seconds(raw, "TyphaReadTimeout", 30) * 1000,
    writeTimeoutMs: seconds(raw, "TyphaWriteTimeout", 10) * 1000,
  };
  const tlsNames = ["TyphaCAFile", "TyphaCertFile", "TyphaKeyFile", "TyphaCN", "TyphaURISAN"];
  if (tlsNames.some((n) => raw[n])) {
    if (!raw.TyphaCAFile || !raw.TyphaCertFile || !raw.TyphaKeyFile || (!raw.TyphaCN && !raw.TyphaURISAN))
      throw new TlsConfigError(
        "if any Felix-Typha TLS options are specified, TyphaCAFile, TyphaCertFile, TyphaKeyFile and TyphaCN or TyphaURISAN must all be set",
      );
    const files = readTlsFiles(
      { caFile: raw.TyphaCAFile, certFile: raw.TyphaCertFile, keyFile: raw.TyphaKeyFile },
      { ca: "TyphaCAFile", cert: "TyphaCertFile", key: "TyphaKeyFile" },
    );
    settings.tls = { ...files, serverCN: raw.TyphaCN ?? "", serverURISAN: raw.TyphaURISAN ?? "" };
  }
  return settings;
}
