/**
 * Mutual TLS between Typha and its clients, with Calico's rules: the peer's chain must verify
 * against the CA file, and its certificate must carry the required CN or URI SAN (either one
 * suffices when both are configured). Host names are not checked: Typha is addressed by IP.
 */
import { readFileSync } from "node:fs";
import type { PeerCertificate } from "node:tls";

export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export class TlsConfigError extends Error {}

/** Reads the three files, naming the parameter whose file is unreadable. */
export function readTlsFiles(
  files: TlsFiles,
  names: { ca: string; cert: string; key: string },
): { ca: Buffer; cert: Buffer; key: Buffer } {
  const read = (path: string, param: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new TlsConfigError(`cannot read ${param} '${path}': ${(err as Error).message}`);
    }
  };
  return {
    ca: read(files.caFile, names.ca),
    cert: read(files.certFile, names.cert),
    key: read(files.keyFile, names.key),
  };
}

function uriSANs(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? "")
    .split(/,\s*/)
    .filter((s) => s.startsWith("URI:"))
    .map((s) => s.slice(4));
}

function commonName(cert: PeerCertificate): string | undefined {
  const cn = (cert.subject as unknown as Record<string, string | string[]> | undefined)?.CN;
  return Array.isArray(cn) ? cn[0] : cn;
}

/** Undefined when the certificate has what is required; otherwise why not. */
export function certificateMismatch(
  cert: PeerCertificate | undefined,
  requiredCN: string,
  requiredURISAN: string,
): string | undefined {
  if (!cert || Object.keys(cert).length === 0) return "peer presented no certificate";
  const cnOK = requiredCN !== "" && commonName(cert) === requiredCN;
  const uriOK = requiredURISAN !== "" && uriSANs(cert).includes(requiredURISAN);
  const got = `CN '${commonName(cert) ?? ""}', URI SANs [${uriSANs(cert).join(", ")}]`;
  if (requiredCN !== "" && requiredURISAN !== "")
    return cnOK || uriOK ? undefined : `peer certificate does not have required CN or URI SAN (${got})`;
  if (requiredCN !== "") return cnOK ? undefined : `peer certificate does not have required CN (${got})`;
  if (requiredURISAN !== "")
    return uriOK ? undefined : `peer certificate does not have required URI SAN (${got})`;
  return undefined;
}
