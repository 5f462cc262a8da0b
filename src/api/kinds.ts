/**
 * The catalogue of projectcalico.org/v3 kinds: scope, etcd plural, and the names calicoctl
 * accepts for each (matched case-insensitively).
 */

export const API_GROUP = "projectcalico.org";
export const API_VERSION = "projectcalico.org/v3";

export interface KindInfo {
  /** Kind as written in resources, e.g. `IPPool`. */
  readonly kind: string;
  /** Plural used in etcd keys, e.g. `ippools`. */
  readonly plural: string;
  readonly namespaced: boolean;
  /** Lower-case names calicoctl accepts on the command line. */
  readonly aliases: readonly string[];
  /** Kinds that only allow the name `default`. */
  readonly singletonName?: string;
}

const catalogue: KindInfo[] = [
  {
    kind: "IPPool",
    plural: "ippools",
    namespaced: false,
    aliases: ["ippool", "ippools", "ipp", "ipps", "pool", "pools"],
  },
  {
    kind: "IPReservation",
    plural: "ipreservations",
    namespaced: false,
    aliases: ["ipreservation", "ipreservations", "reservation", "reservations"],
  },
  {
    kind: "IPAMConfiguration",
    plural: "ipamconfigurations",
    namespaced: false,
    aliases: ["ipamconfiguration", "ipamconfigurations", "ipamconfig", "ipamconfigs"],
    singletonName: "default",
  },
  {
    kind: "BGPConfiguration",
    plural: "bgpconfigurations",
    namespaced: false,
    aliases: ["bgpconfiguration", "bgpconfigurations", "bgpconfig", "bgpconfigs"],
  },
  {
    kind: "BGPPeer",
    plural: "bgppeers",
    namespaced: false,
    aliases: ["bgppeer", "bgppeers", "bgpp", "bgpps", "bp", "bps"],
  },
  {
    kind: "BGPFilter",
    plural: "bgpfilters",
    namespaced: false,
    aliases: ["bgpfilter", "bgpfilters", "bgpf", "bgpfs", "bf", "bfs"],
  },
  {
    kind: "FelixConfiguration",
    plural: "felixconfigurations",
    namespaced: false,
    aliases: ["felixconfiguration", "felixconfigurations", "felixconfig", "felixconfigs"],
  },
  {
    kind: "ClusterInformation",
    plural: "clusterinformations",
    namespaced: false,
    aliases: ["clusterinformation", "clusterinformations", "clusterinfo", "clusterinfos"],
    singletonName: "default",
  },
  { kind: "Node", plural: "nodes", namespaced: false, aliases: ["node", "nodes", "no", "nos"] },
  {
    kind: "HostEndpoint",
    plural: "hostendpoints",
    namespaced: false,
    aliases: ["hostendpoint", "hostendpoints", "hep", "heps"],
  },
  {
    kind: "WorkloadEndpoint",
    plural: "workloadendpoints",
    namespaced: true,
    aliases: ["workloadendpoint", "workloadendpoints", "wep", "weps"],
  },
  { kind: "Profile", plural: "profiles", namespaced: false, aliases: ["profile", "profiles", "pro", "pros"] },
  {
    kind: "NetworkPolicy",
    plural: "networkpolicies",
    namespaced: true,
    aliases: ["networkpolicy", "networkpolicies", "policy", "policies", "np", "pol", "pols"],
  },
  {
    kind: "GlobalNetworkPolicy",
    plural: "globalnetworkpolicies",
    namespaced: false,
    aliases: ["globalnetworkpolicy", "globalnetworkpolicies", "gnp", "gnps"],
  },
  {
    kind: "StagedNetworkPolicy",
    plural: "stagednetworkpolicies",
    namespaced: true,
    aliases: [
      "stagednetworkpolicy",
      "stagednetworkpolicies",
      "stagedpolicy",
      "stagedpolicies",
      "snp",
      "spol",
      "spols",
    ],
  },
  {
    kind: "StagedGlobalNetworkPolicy",
    plural: "stagedglobalnetworkpolicies",
    namespaced: false,
    aliases: ["stagedglobalnetworkpolicy", "stagedglobalnetworkpolicies", "sgnp", "sgnps"],
  },
  {
    kind: "StagedKubernetesNetworkPolicy",
    plural: "stagedkubernetesnetworkpolicies",
    namespaced: true,
    aliases: [
      "stagedkubernetesnetworkpolicy",
      "stagedkubernetesnetworkpolicies",
      "stagedkubernetespolicy",
      "stagedkubernetespolicies",
      "sknp",
      "skpol",
      "skpols",
    ],
  },
  {
    kind: "NetworkSet",
    plural: "networksets",
    namespaced: true,
    aliases: ["networkset", "networksets", "netsets"],
  },
  {
    kind: "GlobalNetworkSet",
    plural: "globalnetworksets",
    namespaced: false,
    aliases: ["globalnetworkset", "globalnetworksets", "gnetsets"],
  },
  { kind: "Tier", plural: "tiers", namespaced: false, aliases: ["tier", "tiers"] },
  {
    kind: "KubeControllersConfiguration",
    plural: "kubecontrollersconfigurations",
    namespaced: false,
    aliases: [
      "kubecontrollersconfiguration",
      "kubecontrollersconfigurations",
      "kubecontrollersconfig",
      "kubecontrollersconfigs",
    ],
    singletonName: "default",
  },
  {
    kind: "CalicoNodeStatus",
    plural: "caliconodestatuses",
    namespaced: false,
    aliases: ["caliconodestatus", "caliconodestatuses", "nodestatus", "nodestatuses"],
  },
];

const byKind = new Map(catalogue.map((k) => [k.kind, k]));
const byAlias = new Map<string, KindInfo>();
for (const info of catalogue) {
  for (const alias of info.aliases) byAlias.set(alias, info);
}

export const KINDS: readonly KindInfo[] = catalogue;

/** Look up a kind by its exact `kind` string. */
export function kindInfo(kind: string): KindInfo | undefined {
  return byKind.get(kind);
}

/** Resolve a command-line kind name (case-insensitive, any alias). */
export function resolveKindName(name: string): KindInfo | undefined {
  return byAlias.get(name.toLowerCase());
}
