/** Address-management kinds: IPPool, IPReservation, IPAMConfiguration. */
import { conditions, selector } from "./common.js";
import { always, bool, enumOf, int, list, obj, opt, ptr, str } from "./dsl.js";

export const ENCAP_MODES = ["Never", "Always", "CrossSubnet"] as const;
export const ALLOWED_USES = ["Workload", "Tunnel", "LoadBalancer"] as const;
export const ASSIGNMENT_MODES = ["Automatic", "Manual"] as const;

export const ipPoolSpec = obj([
  always("cidr", str({ maxLength: 48 })),
  opt("vxlanMode", enumOf(ENCAP_MODES)),
  opt("ipipMode", enumOf(ENCAP_MODES)),
  opt("natOutgoing", bool),
  opt("disabled", bool),
  opt("disableBGPExport", bool),
  opt("blockSize", int({ min: 0, max: 128 })),
  opt("nodeSelector", selector("global() selector is not valid for IPPool nodeSelector")),
  opt("namespaceSelector", selector("global() selector is not valid for IPPool namespaceSelector")),
  // Entries are checked by the IPPool validator so unknown uses get Calico's `unknown use: X`.
  opt("allowedUses", list(str(), { maxItems: 10 })),
  ptr("assignmentMode", enumOf(ASSIGNMENT_MODES)),
]);

export const ipPoolStatus = obj([opt("conditions", conditions)]);

export const ipReservationSpec = obj([opt("reservedCIDRs", list(str({ format: "cidr" })))]);

export const ipamConfigurationSpec = obj([
  always("strictAffinity", bool),
  opt("maxBlocksPerHost", int({ min: 0, max: 1000000 })),
  always("autoAllocateBlocks", bool),
  ptr("kubeVirtVMAddressPersistence", enumOf(["Enabled", "Disabled"])),
  opt("ipCooldownSeconds", int({ min: 0, max: 1200 })),
]);
