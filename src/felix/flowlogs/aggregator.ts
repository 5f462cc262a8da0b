/**
 * Flows from NFLOG verdicts and conntrack counters, per flush interval. Pure: fed packets,
 * conntrack entries and clock readings, it returns flow log records.
 *
 * A flow is its 5-tuple (as its initiator sent it) plus the reporter: `src` when this node's
 * egress policy for the source workload logged it (NFLOG group 2), `dst` for the destination's
 * ingress policy (group 1). An allowed flow is logged once, on its first packet (later packets
 * are conntrack-established and never reach policy); its counts come from conntrack. A denied
 * packet never gets a conntrack entry, so each one is logged and counted here.
 */
import { NFLOG_INBOUND_GROUP, type NflogVerdict, parsePrefix } from "../dataplane/rules/nflog.js";
import { type ConntrackEntry, type FlowTuple, tupleKey } from "./conntrack.js";
import type { EndpointInfo } from "./endpoints.js";
import type { NflogPacket } from "./nflog-pcap.js";

export type Reporter = "src" | "dst";

/** One line of the flow log: Calico's flow log fields. */
export interface FlowLog {
  start_time: number;
  end_time: number;
  source_ip: string;
  source_name: string;
  source_namespace: string;
  source_labels: Record<string, string>;
  source_port: number;
  source_type: "wep" | "net";
  dest_ip: string;
  dest_name: string;
  dest_namespace: string;
  dest_labels: Record<string, string>;
  dest_port: number;
  dest_type: "wep" | "net";
  proto: string;
  action: "allow" | "deny";
  reporter: Reporter;
  /** `<order>|<tier>|<policy>|<action>|<rule index>`, in evaluation order. */
  policies: { all_policies: string[] };
  packets_in: number;
  packets_out: number;
  bytes_in: number;
  bytes_out: number;
  num_flows: number;
  num_flows_started: number;
  num_flows_completed: number;
  host: string;
}

const PROTO_NAMES: Record<number, string> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6", 132: "sctp" };

interface Flow {
  tuple: FlowTuple;
  reporter: Reporter;
  action: "allow" | "deny";
  policies: string[];
  /** Allowed: counts come from conntrack. */
  tracked: boolean;
  started: boolean;
  completed: boolean;
  /** This interval's counts in the original (initiator → responder) and reply directions. */
  packets: number;
  bytes: number;
  replyPackets: number;
  replyBytes: number;
  /** Conntrack's counters when last read. */
  ct: { packets: number; bytes: number; replyPackets: number; replyBytes: number };
  /** Whether conntrack has listed the flow yet; until then its logged packets are its count. */
  ctSeen: boolean;
  logged: { packets: number; bytes: number };
  /** Flush intervals in a row with nothing new. */
  idle: number;
  /** Conntrack lists in a row the flow was missing from (it may not be confirmed yet). */
  missing: number;
}

export interface AggregatorOptions {
  host: string;
  lookup: (ip: string) => EndpointInfo | undefined;
  /** A policy's tier, from its id as written in the prefix (`np/ns/name`, `gnp/name`). */
  tierOf?: (id: string) => string | undefined;
}

/** Idle intervals after which a denied flow is forgotten (a later packet starts a new flow). */
const IDLE_INTERVALS = 2;
/** Conntrack lists an allowed flow may be missing from before it counts as ended. */
const MISSING_LISTS = 2;

export class FlowAggregator {
  readonly #flows = new Map<string, Flow>();
  #intervalStart: number;

  constructor(
    private readonly opts: AggregatorOptions,
    now = Date.now(),
  ) {
    this.#intervalStart = now;
  }

  get size(): number {
    return this.#flows.size;
  }

  #policyEntry(v: NflogVerdict, order: number): string {
    switch (v.owner) {
      case "policy":
        return `${order}|${this.opts.tierOf?.(v.id) ?? "default"}|${v.id}|${v.action}|${v.index}`;
      case "profile":
        return `${order}|__PROFILE__|__PROFILE__.${v.id}|${v.action}|${v.index}`;
      case "end-of-tier":
        return `${order}|${v.id}|${v.id}.end-of-tier|${v.action}|-1`;
      case "no-profile-match":
        return `${order}|__PROFILE__|__PROFILE__.no-profile-match|${v.action}|-1`;
    }
  }

  onPacket(pkt: NflogPacket): void {
    const verdict = parsePrefix(pkt.prefix);
    if (!verdict) return;
    const reporter: Reporter = pkt.group === NFLOG_INBOUND_GROUP ? "dst" : "src";
    const tuple = { proto: pkt.proto, src: pkt.src, dst: pkt.dst, sport: pkt.sport, dport: pkt.dport };
    const key = `${reporter} ${tupleKey(tuple)}`;
    let flow = this.#flows.get(key);
    if (!flow) {
      flow = {
        tuple,
        reporter,
        action: "allow",
        policies: [],
        tracked: false,
        started: true,
        completed: false,
        packets: 0,
        bytes: 0,
        replyPackets: 0,
        replyBytes: 0,
        ct: { packets: 0, bytes: 0, replyPackets: 0, replyBytes: 0 },
        ctSeen: false,
        logged: { packets: 0, bytes: 0 },
        idle: 0,
        missing: 0,
      };
      this.#flows.set(key, flow);
    }
    flow.idle = 0;
    const entry = this.#policyEntry(verdict, 0);
    const bare = entry.slice(entry.indexOf("|") + 1);
    if (!flow.policies.some((p) => p.slice(p.indexOf("|") + 1) === bare))
      flow.policies.push(this.#policyEntry(verdict, flow.policies.length));
    if (verdict.action === "deny") {
      flow.action = "deny";
      flow.tracked = false;
      flow.packets += 1;
      flow.bytes += pkt.bytes;
    } else if (verdict.action === "allow") {
      flow.action = "allow";
      flow.tracked = true;
      // Until conntrack lists the flow (a packet dropped further on never gets an entry), each
      // logged packet is counted; conntrack's counts then take over from that total.
      if (!flow.ctSeen) {
        flow.packets += 1;
        flow.bytes += pkt.bytes;
        flow.logged.packets += 1;
        flow.logged.bytes += pkt.bytes;
      }
    }
  }

  #count(flow: Flow, e: ConntrackEntry): void {
    // Counters below the last reading belong to a new conntrack entry reusing the tuple.
    const zero = { packets: 0, bytes: 0, replyPackets: 0, replyBytes: 0 };
    const base = !flow.ctSeen ? { ...zero, ...flow.logged } : e.packets < flow.ct.packets ? zero : flow.ct;
    flow.ctSeen = true;
    flow.packets += Math.max(0, e.packets - base.packets);
    flow.bytes += Math.max(0, e.bytes - base.bytes);
    flow.replyPackets += Math.max(0, e.replyPackets - base.replyPackets);
    flow.replyBytes += Math.max(0, e.replyBytes - base.replyBytes);
    flow.ct = { packets: e.packets, bytes: e.bytes, replyPackets: e.replyPackets, replyBytes: e.replyBytes };
    flow.missing = 0;
    if (e.destroyed) flow.completed = true;
  }

  /** A DESTROY event: the final counts of an ended flow. */
  onConntrackEvent(e: ConntrackEntry): void {
    const k = tupleKey(e.orig);
    for (const reporter of ["src", "dst"] as const) {
      const flow = this.#flows.get(`${reporter} ${k}`);
      if (flow?.tracked && !flow.completed) this.#count(flow, e);
    }
  }

  /** A full conntrack listing: counts of live flows; tracked flows absent from it have ended. */
  onConntrackList(entries: readonly ConntrackEntry[]): void {
    const seen = new Set<Flow>();
    for (const e of entries) {
      const k = tupleKey(e.orig);
      for (const reporter of ["src", "dst"] as const) {
        const flow = this.#flows.get(`${reporter} ${k}`);
        if (flow?.tracked && !flow.completed) {
          this.#count(flow, e);
          seen.add(flow);
        }
      }
    }
    for (const flow of this.#flows.values())
      if (flow.tracked && !flow.completed && !seen.has(flow) && ++flow.missing >= MISSING_LISTS)
        flow.completed = true;
  }

  /** The interval's records: every flow that started, ended or moved packets since the last flush. */
  flush(now = Date.now()): FlowLog[] {
    const out: FlowLog[] = [];
    const start = Math.floor(this.#intervalStart / 1000);
    const end = Math.max(start, Math.floor(now / 1000));
    for (const [key, flow] of this.#flows) {
      const active = flow.started || flow.completed || flow.packets > 0 || flow.replyPackets > 0;
      if (active) out.push(this.#record(flow, start, end));
      if (flow.completed || (!flow.tracked && !active && ++flow.idle >= IDLE_INTERVALS)) {
        this.#flows.delete(key);
        continue;
      }
      if (active) flow.idle = 0;
      flow.started = false;
      flow.packets = 0;
      flow.bytes = 0;
      flow.replyPackets = 0;
      flow.replyBytes = 0;
    }
    this.#intervalStart = now;
    return out;
  }

  #record(flow: Flow, start: number, end: number): FlowLog {
    const { tuple } = flow;
    const src = this.opts.lookup(tuple.src);
    const dst = this.opts.lookup(tuple.dst);
    // In and out are seen from the reporting endpoint: the source sends the original direction.
    const outgoing = flow.reporter === "src";
    return {
      start_time: start,
      end_time: end,
      source_ip: tuple.src,
      source_name: src?.name ?? "-",
      source_namespace: src?.namespace ?? "-",
      source_labels: src?.labels ?? {},
      source_port: tuple.sport,
      source_type: src ? "wep" : "net",
      dest_ip: tuple.dst,
      dest_name: dst?.name ?? "-",
      dest_namespace: dst?.namespace ?? "-",
      dest_labels: dst?.labels ?? {},
      dest_port: tuple.dport,
      dest_type: dst ? "wep" : "net",
      proto: PROTO_NAMES[tuple.proto] ?? String(tuple.proto),
      action: flow.action,
      reporter: flow.reporter,
      policies: { all_policies: [...flow.policies] },
      packets_in: outgoing ? flow.replyPackets : flow.packets,
      packets_out: outgoing ? flow.packets : flow.replyPackets,
      bytes_in: outgoing ? flow.replyBytes : flow.bytes,
      bytes_out: outgoing ? flow.bytes : flow.replyBytes,
      num_flows: 1,
      num_flows_started: flow.started ? 1 : 0,
      num_flows_completed: flow.completed ? 1 : 0,
      host: this.opts.host,
    };
  }
}
