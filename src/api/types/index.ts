/** Per-kind TypeScript types of the projectcalico.org/v3 API. */
export type * from "./bgp.js";
export type * from "./cluster.js";
export type * from "./common.js";
export type * from "./endpoints.js";
export type * from "./felix.js";
export type * from "./ipam.js";
export type * from "./policy.js";
