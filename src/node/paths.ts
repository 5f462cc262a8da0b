/** Where calico-node keeps its files; overridable so several nodes can share one host (the lab). */
import { join } from "node:path";

type Env = Readonly<Record<string, string | undefined>>;

export interface NodePaths {
  runDir: string;
  confdDir: string;
  birdConfig: string;
  birdSocket: string;
}

export function nodePaths(env: Env): NodePaths {
  const runDir = env.CALICO_RUN_DIR || "/var/run/calico";
  const confdDir = env.CALICO_CONFD_DIR || "/etc/calico/confd/config";
  return { runDir, confdDir, birdConfig: join(confdDir, "bird.cfg"), birdSocket: join(runDir, "bird.ctl") };
}
