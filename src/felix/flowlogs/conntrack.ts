/**
 * Conntrack's per-flow accounting (`net.netfilter.nf_conntrack_acct=1`), read from
 * `conntrack -L -o extended` and `conntrack -E -e DESTROY -o extended`: the packet and byte
 * counts of allowed flows come from here, so no packet beyond a flow's first is ever logged.
 */

export interface FlowTuple {
  proto: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

export interface ConntrackEntry {
  /** The original direction: what the flow's initiator sent. */
  orig: FlowTuple;
  packets: number;
  bytes: number;
  replyPackets: number;
  replyBytes: number;
  /** From a DESTROY event: the flow has ended and these are its final counts. */
  destroyed: boolean;
}

export function tupleKey(t: FlowTuple): string {
  return `${t.proto} ${t.src} ${t.sport} ${t.dst} ${t.dport}`;
}

/** One line of `conntrack -L -o extended` or of its event stream; undefined for other lines. */
export function parseConntrackLine(line: string): ConntrackEntry | undefined {
  const m = /^\s*(\[(\w+)\]\s+)?(?:ipv[46]\s+\d+\s+)?(\S+)\s+(\d+)\s/.exec(line);
  if (!m) return undefined;
  const event = m[2];
  if (event !== undefined && event !== "DESTROY" && event !== "UPDATE" && event !== "NEW") return undefined;
  const proto = Number(m[4]);
  const fields = [...line.matchAll(/(\w+)=(\S+)/g)];
  const first = (key: string, nth: number): string | undefined =>
    fields.filter(([, k]) => k === key)[nth]?.[2];
  const src = first("src", 0);
  const dst = first("dst", 0);
  if (src === undefined || dst === undefined) return undefined;
  return {
    orig: {
      proto,
      src,
      dst,
      sport: Number(first("sport", 0) ?? 0),
      dport: Number(first("dport", 0) ?? 0),
    },
    packets: Number(first("packets", 0) ?? 0),
    bytes: Number(first("bytes", 0) ?? 0),
    replyPackets: Number(first("packets", 1) ?? 0),
    replyBytes: Number(first("bytes", 1) ?? 0),
    destroyed: event === "DESTROY",
  };
}

export function parseConntrackList(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split("\n")) {
    const e = parseConntrackLine(line);
    if (e) out.push(e);
  }
  return out;
}
