/**
 * The table columns calicoctl prints per kind: the default set, the `-o wide` set, and every
 * heading `-o custom-columns=` accepts, with how each cell is derived from the object.
 */
import type { Resource } from "../../api/index.js";
import { goBool, goFloat, goInt, goJoin, goString, goValue } from "./gofmt.js";

export interface CellContext {
  /** The cluster's default AS number (BGPConfiguration `default`, else 64512). */
  defaultASNumber: string;
}

type Cell = (resource: Resource, ctx: CellContext) => string;

export interface KindColumns {
  defaults: readonly string[];
  wide: readonly string[];
  cells: Readonly<Record<string, Cell>>;
}

type Plain = Record<string, unknown>;

const spec = (r: Resource): Plain => (r.spec ?? {}) as Plain;
const field = (r: Resource, name: string): unknown => spec(r)[name];
const nested = (r: Resource, outer: string): Plain => (field(r, outer) ?? {}) as Plain;

const NAME: Cell = (r) => r.metadata.name ?? "";
const NAMESPACE: Cell = (r) => r.metadata.namespace ?? "";
const str =
  (name: string): Cell =>
  (r) =>
    goString(field(r, name));
const bool =
  (name: string): Cell =>
  (r) =>
    goBool(field(r, name));
const joined =
  (name: string, maxLen = 0): Cell =>
  (r) =>
    goJoin(field(r, name), ",", maxLen);
const count =
  (name: string): Cell =>
  (r) => {
    const list = field(r, name);
    return String(Array.isArray(list) ? list.length : 0);
  };
/** A pointer field printed as its value, or `dash` when unset. */
const orDash =
  (name: string): Cell =>
  (r) => {
    const v = field(r, name);
    return v === undefined || v === null ? "-" : goValue(v);
  };
const mode =
  (name: string): Cell =>
  (r) =>
    goString(field(r, name)) || "Never";
const order: Cell = (r) => {
  const v = field(r, "order");
  return typeof v === "number" ? goFloat(v) : "<nil>";
};

const NAME_ONLY: KindColumns = { defaults: ["NAME"], wide: ["NAME"], cells: { NAME } };

const POLICY: KindColumns = {
  defaults: ["NAME", "TIER"],
  wide: ["NAME", "TIER", "ORDER", "SELECTOR"],
  cells: { NAME, NAMESPACE, ORDER: order, SELECTOR: str("selector"), TIER: str("tier") },
};

const NETWORK_SET: KindColumns = {
  defaults: ["NAME"],
  wide: ["NAME", "NETS"],
  cells: { NAME, NAMESPACE, NETS: joined("nets", 80) },
};

/** Kubernetes' own rendering of a label selector, e.g. `app=web,tier in (a,b)`. */
function labelSelector(selector: unknown): string {
  const s = (selector ?? {}) as { matchLabels?: Record<string, string>; matchExpressions?: Plain[] };
  const parts = Object.entries(s.matchLabels ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`);
  for (const e of s.matchExpressions ?? []) {
    const values = Array.isArray(e.values) ? e.values.join(",") : "";
    const op = String(e.operator ?? "");
    if (op === "Exists") parts.push(String(e.key));
    else if (op === "DoesNotExist") parts.push(`!${String(e.key)}`);
    else parts.push(`${String(e.key)} ${op.toLowerCase()} (${values})`);
  }
  return parts.length > 0 ? parts.join(",") : "<none>";
}

export const COLUMNS: Readonly<Record<string, KindColumns>> = {
  IPPool: {
    defaults: ["NAME", "CIDR", "SELECTOR"],
    wide: [
      "NAME",
      "CIDR",
      "NAT",
      "IPIPMODE",
      "VXLANMODE",
      "DISABLED",
      "DISABLEBGPEXPORT",
      "SELECTOR",
      "ASSIGNMENTMODE",
    ],
    cells: {
      NAME,
      CIDR: str("cidr"),
      NAT: bool("natOutgoing"),
      IPIPMODE: mode("ipipMode"),
      VXLANMODE: mode("vxlanMode"),
      DISABLED: bool("disabled"),
      DISABLEBGPEXPORT: bool("disableBGPExport"),
      SELECTOR: str("nodeSelector"),
      ASSIGNMENTMODE: (r) => goValue(field(r, "assignmentMode")),
    },
  },
  IPReservation: {
    defaults: ["NAME"],
    wide: ["NAME", "CIDRS"],
    cells: { NAME, CIDRS: joined("reservedCIDRs", 80) },
  },
  IPAMConfiguration: {
    defaults: ["NAME", "STRICTAFFINITY", "AUTOALLOCATEBLOCKS"],
    wide: ["NAME", "STRICTAFFINITY", "AUTOALLOCATEBLOCKS", "MAXBLOCKSPERHOST"],
    cells: {
      NAME,
      STRICTAFFINITY: bool("strictAffinity"),
      AUTOALLOCATEBLOCKS: bool("autoAllocateBlocks"),
      MAXBLOCKSPERHOST: (r) => goInt(field(r, "maxBlocksPerHost")),
    },
  },
  BGPConfiguration: {
    defaults: ["NAME", "LOGSEVERITY", "MESHENABLED", "ASNUMBER"],
    wide: ["NAME", "LOGSEVERITY", "MESHENABLED", "ASNUMBER"],
    cells: {
      NAME,
      LOGSEVERITY: str("logSeverityScreen"),
      MESHENABLED: orDash("nodeToNodeMeshEnabled"),
      ASNUMBER: orDash("asNumber"),
    },
  },
  BGPPeer: {
    defaults: ["NAME", "PEERIP", "NODE", "ASN"],
    wide: ["NAME", "PEERIP", "NODE", "ASN"],
    cells: {
      NAME,
      PEERIP: str("peerIP"),
      NODE: (r) => goString(field(r, "node")) || goString(field(r, "nodeSelector")) || "(global)",
      ASN: (r) => goInt(field(r, "asNumber")),
    },
  },
  BGPFilter: {
    defaults: ["NAME", "NUMEXPORTV4", "NUMIMPORTV4", "NUMEXPORTV6", "NUMIMPORTV6"],
    wide: ["NAME", "NUMEXPORTV4", "NUMIMPORTV4", "NUMEXPORTV6", "NUMIMPORTV6"],
    cells: {
      NAME,
      NUMEXPORTV4: count("exportV4"),
      NUMIMPORTV4: count("importV4"),
      NUMEXPORTV6: count("exportV6"),
      NUMIMPORTV6: count("importV6"),
    },
  },
  FelixConfiguration: NAME_ONLY,
  KubeControllersConfiguration: NAME_ONLY,
  ClusterInformation: {
    defaults: ["NAME", "CLUSTERGUID", "CLUSTERTYPE", "CALICOVERSION", "DATASTOREREADY"],
    wide: ["NAME", "CLUSTERGUID", "CLUSTERTYPE", "CALICOVERSION", "DATASTOREREADY"],
    cells: {
      NAME,
      CLUSTERGUID: str("clusterGUID"),
      CLUSTERTYPE: str("clusterType"),
      CALICOVERSION: str("calicoVersion"),
      DATASTOREREADY: (r) => goValue(field(r, "datastoreReady")),
    },
  },
  Node: {
    defaults: ["NAME"],
    wide: ["NAME", "ASN", "IPV4", "IPV6"],
    cells: {
      NAME,
      ASN: (r, ctx) => {
        if (field(r, "bgp") === undefined) return "";
        const asn = nested(r, "bgp").asNumber;
        return asn === undefined || asn === null ? `(${ctx.defaultASNumber})` : goValue(asn);
      },
      IPV4: (r) => goString(nested(r, "bgp").ipv4Address),
      IPV6: (r) => goString(nested(r, "bgp").ipv6Address),
    },
  },
  HostEndpoint: {
    defaults: ["NAME", "NODE"],
    wide: ["NAME", "NODE", "INTERFACE", "IPS", "PROFILES"],
    cells: {
      NAME,
      NODE: str("node"),
      INTERFACE: str("interfaceName"),
      IPS: joined("expectedIPs"),
      PROFILES: joined("profiles"),
    },
  },
  WorkloadEndpoint: {
    defaults: ["WORKLOAD", "NODE", "NETWORKS", "INTERFACE"],
    wide: ["NAME", "WORKLOAD", "NODE", "NETWORKS", "INTERFACE", "PROFILES", "NATS"],
    cells: {
      NAME,
      NAMESPACE,
      NODE: str("node"),
      ORCHESTRATOR: str("orchestrator"),
      WORKLOAD: (r) => goString(field(r, "workload")) || goString(field(r, "pod")),
      NETWORKS: joined("ipNetworks"),
      NATS: joined("ipNATs"),
      PROFILES: joined("profiles"),
      INTERFACE: str("interfaceName"),
    },
  },
  Profile: {
    defaults: ["NAME"],
    wide: ["NAME", "LABELS"],
    cells: { NAME, LABELS: joined("labelsToApply") },
  },
  NetworkPolicy: POLICY,
  GlobalNetworkPolicy: POLICY,
  StagedNetworkPolicy: POLICY,
  StagedGlobalNetworkPolicy: POLICY,
  StagedKubernetesNetworkPolicy: {
    defaults: ["NAME"],
    wide: ["NAME", "PODSELECTOR"],
    cells: { NAME, NAMESPACE, PODSELECTOR: (r) => labelSelector(field(r, "podSelector")) },
  },
  NetworkSet: NETWORK_SET,
  GlobalNetworkSet: NETWORK_SET,
  Tier: { defaults: ["NAME", "ORDER"], wide: ["NAME", "ORDER"], cells: { NAME, ORDER: order } },
  CalicoNodeStatus: {
    defaults: ["NAME", "NODE"],
    wide: ["NAME", "NODE", "CLASSES"],
    cells: { NAME, NODE: str("node"), CLASSES: joined("classes") },
  },
};
