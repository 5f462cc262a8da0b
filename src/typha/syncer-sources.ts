/**
 * What each of Typha's syncer types watches: exactly what a Felix or a confd would watch directly
 * (confd's affinities for every host). Kept out of the package surface, since Felix and confd
 * themselves import the Typha client.
 */
import { bgpSources } from "../bgp/index.js";
import type { SyncSource } from "../datastore/index.js";
import { felixSources } from "../felix/index.js";
import type { SyncerType } from "./proto.js";

export function typhaSources(): Record<SyncerType, SyncSource[]> {
  return { felix: felixSources(), bgp: bgpSources() };
}
