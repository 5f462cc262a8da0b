/** Felix, Calico's per-host agent: start it, or use its calculation graph and dataplane parts. */
export * from "./daemon/index.js";
