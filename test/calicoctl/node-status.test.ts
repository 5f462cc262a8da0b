import { describe, expect, it } from "vitest";
import { parseProtocols } from "../../src/bgp/index.js";
import { formatPeerTable, peerRows } from "../../src/calicoctl/node/status.js";

describe("calicoctl node status formatting", () => {
  it("reads BIRD 2's protocol rows and prints Calico's table", () => {
    const protocols = parseProtocols([
      "Name       Proto      Table      State  Since         Info",
      "device1    Device     ---        up     21:56:34.371",
      "Mesh_10_192_0_3 BGP        ---        up     09:13:05.123  Established",
      "Mesh_10_192_0_4 BGP        ---        start  09:13:05.456  Active        Socket: Connection refused",
      "Node_fd00__2_port_1790 BGP        ---        up     09:13:06.000  Established",
    ]);
    const rows = peerRows(protocols);
    expect(rows.map((r) => [r.address, r.type])).toEqual([
      ["10.192.0.3", "node-to-node mesh"],
      ["10.192.0.4", "node-to-node mesh"],
      ["fd00::2", "node specific"],
    ]);
    expect(formatPeerTable(rows.slice(0, 1))).toBe(
      [
        "+--------------+-------------------+-------+----------+-------------+",
        "| PEER ADDRESS |     PEER TYPE     | STATE |  SINCE   |    INFO     |",
        "+--------------+-------------------+-------+----------+-------------+",
        "| 10.192.0.3   | node-to-node mesh | up    | 09:13:05 | Established |",
        "+--------------+-------------------+-------+----------+-------------+",
        "",
      ].join("\n"),
    );
    expect(formatPeerTable(rows.slice(1, 2))).toContain("| Active Socket: Connection refused |");
  });
});
