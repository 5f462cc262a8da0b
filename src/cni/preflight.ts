/** Settings the calico plugin resolves before touching anything: MTU and readiness gates. */
import { readFile } from "node:fs/promises";
import type { NetConf } from "./config.js";
import { CniError, ErrorCode } from "./errors.js";
import { log } from "./log.js";

const DEFAULT_MTU = 1500;

/** Config value, else the MTU calico/node detected (its file), else the kernel default. */
export async function resolveMtu(conf: NetConf, mtuFile = conf.mtuFilePath): Promise<number> {
  if (conf.mtu > 0) return conf.mtu;
  let text: string;
  try {
    text = await readFile(mtuFile, "utf8");
  } catch (err) {
    if (conf.requireMtuFile) {
      throw new CniError(ErrorCode.internal, `failed to read MTU file ${mtuFile}: ${(err as Error).message}`);
    }
    return DEFAULT_MTU;
  }
  const mtu = Number(text.trim());
  if (!Number.isInteger(mtu) || mtu <= 0) {
    throw new CniError(
      ErrorCode.internal,
      `MTU file ${mtuFile} does not hold a positive integer: "${text.trim()}"`,
    );
  }
  return mtu;
}

const GATE_INTERVAL_MS = 5_000;
const GATE_TIMEOUT_MS = 30_000;

async function gateOpen(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(GATE_INTERVAL_MS), redirect: "manual" });
    await res.body?.cancel();
    return res.status >= 200 && res.status < 400;
  } catch {
    return false;
  }
}

/** Waits for every configured URL to answer 2xx/3xx, polling each until the overall deadline. */
export async function waitForReadinessGates(
  urls: string[],
  intervalMs = GATE_INTERVAL_MS,
  timeoutMs = GATE_TIMEOUT_MS,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const url of urls) {
    while (!(await gateOpen(url))) {
      if (Date.now() + intervalMs > deadline) {
        throw new CniError(
          ErrorCode.tryAgainLater,
          `readiness gate ${url} is not ready`,
          "timed out after 30 s",
        );
      }
      log.info("waiting for readiness gate", { url });
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
