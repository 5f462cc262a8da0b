/** The policy trace: which chains police a packet between two endpoints, step by step, and why. */
export { formatTrace } from "./format.js";
export { TraceInputError, type TracePacket } from "./packet.js";
export { readFelixSnapshot } from "./snapshot.js";
export {
  type DirectionTrace,
  PolicyTracer,
  type TraceEndpoint,
  type TraceRequest,
  type TraceResult,
} from "./tracer.js";
export type { RuleHit, TraceStep, Verdict } from "./walk.js";
