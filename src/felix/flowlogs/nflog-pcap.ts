/**
 * Reads the NFLOG packets `tcpdump -i nflog:1,2 -w -` writes: a pcap stream of link type 239
 * (LINKTYPE_NFLOG), each record a 4-byte header (family, version, group) and type-length-value
 * attributes, of which the prefix (the verdict's name) and the payload (the IP packet) matter.
 * Pure: bytes in, packets out, across arbitrary chunk boundaries.
 */

const LINKTYPE_NFLOG = 239;
const NFULA_PAYLOAD = 9;
const NFULA_PREFIX = 10;

export interface NflogPacket {
  group: number;
  prefix: string;
  /** Capture time, ms since the epoch. */
  time: number;
  family: 4 | 6;
  src: string;
  dst: string;
  /** IP protocol number. */
  proto: number;
  sport: number;
  dport: number;
  /** The IP packet's full length (the capture holds only its head). */
  bytes: number;
}

function ipv6Text(b: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(at + i).toString(16));
  // Shorten the longest run of zero groups, as inet_ntop does.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

/** Addresses, protocol, ports and length of an IP packet's head; undefined if it is not IP. */
export function parseIpHead(
  p: Buffer,
): Pick<NflogPacket, "family" | "src" | "dst" | "proto" | "sport" | "dport" | "bytes"> | undefined {
  if (p.length < 1) return undefined;
  const first = p.readUInt8(0);
  const version = first >> 4;
  let proto: number;
  let l4: number;
  let out: Pick<NflogPacket, "family" | "src" | "dst" | "bytes">;
  if (version === 4 && p.length >= 20) {
    const ihl = (first & 0x0f) * 4;
    proto = p[9] ?? 0;
    l4 = ihl;
    out = {
      family: 4,
      src: [...p.subarray(12, 16)].join("."),
      dst: [...p.subarray(16, 20)].join("."),
      bytes: p.readUInt16BE(2),
    };
  } else if (version === 6 && p.length >= 40) {
    proto = p[6] ?? 0;
    l4 = 40;
    out = { family: 6, src: ipv6Text(p, 8), dst: ipv6Text(p, 24), bytes: p.readUInt16BE(4) + 40 };
  } else return undefined;
  const ported = proto === 6 || proto === 17 || proto === 132;
  const sport = ported && p.length >= l4 + 4 ? p.readUInt16BE(l4) : 0;
  const dport = ported && p.length >= l4 + 4 ? p.readUInt16BE(l4 + 2) : 0;
  return { ...out, proto, sport, dport };
}

/** One NFLOG record (after the pcap record header) → its packet, if it carries an IP payload. */
export function parseNflogRecord(rec: Buffer, time: number, littleEndian: boolean): NflogPacket | undefined {
  if (rec.length < 4) return undefined;
  const group = rec.readUInt16BE(2);
  let prefix = "";
  let payload: Buffer | undefined;
  for (let at = 4; at + 4 <= rec.length; ) {
    const len = littleEndian ? rec.readUInt16LE(at) : rec.readUInt16BE(at);
    const type = (littleEndian ? rec.readUInt16LE(at + 2) : rec.readUInt16BE(at + 2)) & 0x7fff;
    if (len < 4) break;
    const value = rec.subarray(at + 4, Math.min(rec.length, at + len));
    if (type === NFULA_PREFIX) {
      const nul = value.indexOf(0);
      prefix = value.subarray(0, nul < 0 ? value.length : nul).toString("latin1");
    } else if (type === NFULA_PAYLOAD) payload = value;
    at += (len + 3) & ~3;
  }
  if (!payload) return undefined;
  const head = parseIpHead(payload);
  return head ? { group, prefix, time, ...head } : undefined;
}

/** Incremental pcap reader: feed chunks, get the NFLOG packets completed by each. */
export class NflogPcapReader {
  #buf: Buffer = Buffer.alloc(0);
  #le: boolean | undefined;
  #nanos = false;

  push(chunk: Buffer): NflogPacket[] {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: NflogPacket[] = [];
    if (this.#le === undefined) {
      if (this.#buf.length < 24) return out;
      const magic = this.#buf.readUInt32LE(0);
      if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) this.#le = true;
      else if (this.#buf.readUInt32BE(0) === 0xa1b2c3d4 || this.#buf.readUInt32BE(0) === 0xa1b23c4d)
        this.#le = false;
      else throw new Error("not a pcap stream");
      this.#nanos = (this.#le ? magic : this.#buf.readUInt32BE(0)) === 0xa1b23c4d;
      const link = this.#le ? this.#buf.readUInt32LE(20) : this.#buf.readUInt32BE(20);
      if (link !== LINKTYPE_NFLOG) throw new Error(`pcap link type ${link} is not NFLOG (${LINKTYPE_NFLOG})`);
      this.#buf = this.#buf.subarray(24);
    }
    const le = this.#le;
    let at = 0;
    while (at + 16 <= this.#buf.length) {
      const sec = le ? this.#buf.readUInt32LE(at) : this.#buf.readUInt32BE(at);
      const frac = le ? this.#buf.readUInt32LE(at + 4) : this.#buf.readUInt32BE(at + 4);
      const caplen = le ? this.#buf.readUInt32LE(at + 8) : this.#buf.readUInt32BE(at + 8);
      if (at + 16 + caplen > this.#buf.length) break;
      const time = sec * 1000 + (this.#nanos ? frac / 1e6 : frac / 1e3);
      // NFLOG attributes are in host byte order, which is the capture's.
      const pkt = parseNflogRecord(this.#buf.subarray(at + 16, at + 16 + caplen), time, le);
      if (pkt) out.push(pkt);
      at += 16 + caplen;
    }
    this.#buf = Buffer.from(this.#buf.subarray(at));
    return out;
  }
}
