/**
 * Throwaway PKI for TLS tests, made with openssl: a CA in a directory, and certificates it signs
 * with the subject and extensions a test needs. Files are `<name>.pem` / `<name>.key`.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";

const openssl = (...args: string[]) => promisify(execFile)("openssl", args);
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A self-signed CA: `ca.pem` and `ca.key` in `dir`. */
export async function makeCA(dir: string, cn: string): Promise<void> {
  await openssl(
    "req",
    "-x509",
    ...EC_KEY,
    "-keyout",
    join(dir, "ca.key"),
    "-out",
    join(dir, "ca.pem"),
    "-days",
    "2",
    "-subj",
    `/CN=${cn}`,
  );
}

/** A certificate signed by `dir`'s CA; `ext` holds openssl extension lines (SANs, key usage). */
export async function issueCert(dir: string, name: string, subject: string, ext: string): Promise<void> {
  const extFile = join(dir, `${name}.ext`);
  await writeFile(extFile, ext);
  await openssl(
    "req",
    "-new",
    ...EC_KEY,
    "-keyout",
    join(dir, `${name}.key`),
    "-out",
    join(dir, `${name}.csr`),
    "-subj",
    subject,
  );
  await openssl(
    "x509",
    "-req",
    "-in",
    join(dir, `${name}.csr`),
    "-CA",
    join(dir, "ca.pem"),
    "-CAkey",
    join(dir, "ca.key"),
    "-CAcreateserial",
    "-out",
    join(dir, `${name}.pem`),
    "-days",
    "2",
    "-extfile",
    extFile,
  );
}
