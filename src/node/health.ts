/**
 * `calico-node -felix-ready -bird-ready` (and `-live`), as Kubernetes probes run it: Felix's
 * health endpoint, and BIRD's sessions read over its control socket.
 */
import { BirdClient } from "../bgp/index.js";
import { nodePaths } from "./paths.js";

type Env = Readonly<Record<string, string | undefined>>;

async function felixEndpoint(env: Env, path: "readiness" | "liveness"): Promise<string | undefined> {
  const host = env.FELIX_HEALTHHOST || "localhost";
  const port = env.FELIX_HEALTHPORT || "9099";
  try {
    const res = await fetch(`http://${host}:${port}/${path}`, { signal: AbortSignal.timeout(2_000) });
    return res.ok ? undefined : `felix is not ${path === "readiness" ? "ready" : "live"}: ${res.status}`;
  } catch (err) {
    return `felix is not ${path === "readiness" ? "ready" : "live"}: ${(err as Error).message}`;
  }
}

async function birdCheck(env: Env, ready: boolean): Promise<string | undefined> {
  const client = new BirdClient(nodePaths(env).birdSocket);
  try {
    if (!ready) {
      const status = await client.showStatus();
      return status[0]?.startsWith("BIRD") ? undefined : "BIRD is not live";
    }
    const down = (await client.showProtocols())
      .filter((p) => p.proto === "BGP" && p.info.split(" ")[0] !== "Established")
      .map((p) =>
        p.name
          .replace(/^(Mesh|Node|Global)_/, "")
          .replace(/_port_\d+$/, "")
          .replace(/_/g, "."),
      );
    return down.length === 0 ? undefined : `BGP not established with ${down.join(",")}`;
  } catch (err) {
    return `BIRD is not ${ready ? "ready" : "live"}: ${(err as Error).message}`;
  }
}

/** Returns the failures (empty when healthy). */
export async function healthCheck(
  env: Env,
  checks: { felix?: "ready" | "live"; bird?: "ready" | "live" },
): Promise<string[]> {
  const out: string[] = [];
  if (checks.felix) {
    const f = await felixEndpoint(env, checks.felix === "ready" ? "readiness" : "liveness");
    if (f) out.push(f);
  }
  if (checks.bird) {
    const b = await birdCheck(env, checks.bird === "ready");
    if (b) out.push(b);
  }
  return out;
}
