/**
 * `calico-lab trace`: the policy trace for a packet between two lab endpoints, then a real probe
 * of the same connection, and whether the two agree. The trace reads the lab's etcd exactly as
 * `calicoctl policy trace` does.
 */
import { PolicyTracer, readFelixSnapshot, TraceInputError, type TraceResult } from "../felix/trace/index.js";
import { withClient } from "./datastore.js";
import { probe } from "./pods.js";
import { LabError } from "./processes.js";
import type { LabPaths, LabState } from "./state.js";

export interface LabTrace {
  trace: TraceResult;
  /** The probe's result: `open`, `closed` (refused: nothing listens, but policy let it through) or `timeout`. */
  probe: string;
  /** Policy let the connection through: TCP opened or was refused; UDP was answered. */
  reachable: boolean;
  agree: boolean;
}

/** A pod keeps its `NAMESPACE/NAME`; a node stands for its own address (and host endpoint, if any). */
function traceRef(state: LabState, ref: string): string {
  if (state.pods[ref]) return ref;
  const node = state.nodes.find((n) => n.name === ref);
  if (node) return node.ip;
  throw new LabError(
    `no pod or node '${ref}' (pods are named NAMESPACE/NAME, nodes as in \`calico-lab status\`)`,
  );
}

export function reachableFrom(protocol: string, result: string): boolean {
  return result === "open" || (protocol === "tcp" && result === "closed");
}

export async function labTrace(
  paths: LabPaths,
  state: LabState,
  from: string,
  to: string,
  port: number,
  protocol: string,
  timeoutMs = 1_000,
): Promise<LabTrace> {
  if (protocol !== "tcp" && protocol !== "udp")
    throw new LabError(`--protocol must be tcp or udp (what the lab can probe), not '${protocol}'`);
  const updates = await withClient(paths, (_c, store) => readFelixSnapshot(store.kv));
  let trace: TraceResult;
  try {
    trace = new PolicyTracer(updates).trace({
      source: traceRef(state, from),
      destination: traceRef(state, to),
      protocol,
      port,
    });
  } catch (err) {
    if (err instanceof TraceInputError) throw new LabError(err.message);
    throw err;
  }
  const result = await probe(state, from, to, port, protocol, timeoutMs);
  const reachable = reachableFrom(protocol, result);
  return { trace, probe: result, reachable, agree: reachable === (trace.verdict === "allow") };
}
