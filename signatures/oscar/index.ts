// OSCAR (AIM/ICQ): detection on the FLAP framing (nDPI's old oscar.c logic, made stricter) on any
// port, and peer connections recognised on their own: OFT2 file transfers by the "OFT2" header,
// Direct IM by the "ODC2" header, either behind the AOL rendezvous proxy's first frame.
import { declineOnThrow, type Detection, type DetectInput, type DetectResult, type SignatureData, type SignatureModule } from '../types';
import { CidrTable } from '../lookup';
import { scanFlaps, type FlapScan } from './parser';
import { OscarSession } from './session';
import { OftDecoder, looksLikeOft } from './oft';
import { OdcDecoder, PROXY_VERSION, findOdcHeader, looksLikeOdc, proxyInit } from './odc';

const OFT_EVIDENCE = 'oscar.oft2';
const ODC_EVIDENCE = 'oscar.odc2';
const CONNECT_EVIDENCE = 'oscar.connect';

/**
 * ICQ and AIM share OSCAR: a server name learned from DNS (login.icq.com), or a server address in the
 * ranges where only ICQ spoke OSCAR (data.yaml `icq_oscar_servers`: Mail.ru's, 2010–2024, where a
 * client reconnects to its BOS server by address, with no DNS to see) tells them apart early. These
 * ranges also host other Mail.ru services, so they only name the OSCAR variant of a flow the FLAP
 * framing already proved; they never classify a flow.
 */
function protocolFor(input: DetectInput, data?: SignatureData): string {
  const name = input.knownServerName;
  if (name && input.lookup.host(name)?.protocol === 'icq') return 'icq';
  return icqServers(data)?.lookup(input.flow.server.ip) ? 'icq' : 'aim';
}

const icqRanges = new WeakMap<SignatureData, CidrTable | null>();
function icqServers(data: SignatureData | undefined): CidrTable | null {
  if (!data) return null;
  let t = icqRanges.get(data);
  if (t === undefined) {
    t = null;
    const list = data.icq_oscar_servers;
    if (Array.isArray(list)) {
      const table = new CidrTable();
      for (const c of list) {
        try {
          table.add(String(c), 'icq');
        } catch {
          // a bad entry in an override is skipped, not fatal
        }
      }
      if (table.size) t = table;
    }
    icqRanges.set(data, t);
  }
  return t;
}

export function detectOscar(input: DetectInput, data?: SignatureData): DetectResult {
  if (input.transport !== 'tcp' || input.data.length === 0) return input.transport === 'tcp' ? 'more' : null;
  const d = input.data;
  if (d[0] === 0x4f && d.length >= 2 && d[1] === 0x44) { // 'OD': ODC2 header
    const odc = looksLikeOdc(d);
    if (odc === true) {
      return { protocol: 'aim', evidence: { signature: ODC_EVIDENCE, reason: `ODC2 Direct IM header (length ${d.readUInt16BE(4)}) at the start of the stream` } };
    }
    // no header at byte 0: a flow picked up mid-stream may still hold one (or FLAPs) further on
    return odc === 'more' ? 'more' : midStream(d, input, data);
  }
  // proxy frame lengths are at most 2048: the first byte cannot be a FLAP's 0x2a
  if (d[0] <= 0x08 && d.length >= 4 && d.readUInt16BE(2) === PROXY_VERSION) {
    const r = proxied(d);
    if (r !== null) return r;
  }
  if (d[0] === 0x4f) { // 'O': OFT2/OFT3 header
    const oft = looksLikeOft(d);
    if (oft === true) {
      return { protocol: 'aim', evidence: { signature: OFT_EVIDENCE, reason: `OFT2 file-transfer header (length ${d.readUInt16BE(4)}) at the start of the stream` } };
    }
    return oft === 'more' ? 'more' : midStream(d, input, data);
  }
  if (d[0] === 0x43 && d.length >= 8 && d.toString('latin1', 0, 8) === 'CONNECT ') return connectTunnel(d, input);
  if (d[0] !== 0x2a) return midStream(d, input, data);
  const mine = scanFlaps(d);
  if (!mine.ok) return midStream(d, input, data);
  let other = input.other.length ? scanFlaps(input.other) : { ok: true, complete: 0, strong: 0, end: 0 };
  // picked up mid-stream, the other direction may begin inside a frame: its first whole FLAPs count
  if ((!other.ok || other.complete === 0) && input.flow.clientBy !== 'syn') other = firstChain(input.other) ?? other;
  const complete = mine.complete + (other.ok ? other.complete : 0);
  const strong = mine.strong + (other.ok ? other.strong : 0);
  // one FLAP could be chance; two consistent ones with a sign-on or a known SNAC family are not
  if (strong >= 1 && complete >= 2) {
    return {
      protocol: protocolFor(input, data),
      evidence: { signature: 'oscar.flap', reason: `${complete} consistent FLAP frames (${strong} sign-on/known SNAC) from the stream start` },
    };
  }
  return 'more';
}

/**
 * A peer's first frame to the AOL rendezvous proxy (CREATE or JOIN, naming the capability): the Direct
 * IM or file-transfer connection of a proposal made through the proxy, when the proposal was not seen.
 */
function proxied(d: Buffer): DetectResult {
  const k = proxyInit(d);
  if (k === 'more' || k === null) return k;
  return {
    protocol: 'aim',
    evidence: { signature: k === 'odc' ? ODC_EVIDENCE : OFT_EVIDENCE, reason: `AOL rendezvous proxy request for ${k === 'odc' ? 'Direct IM' : 'a file transfer'}` },
  };
}

/**
 * AIM/ICQ through an explicit HTTP proxy: `CONNECT login.oscar.aol.com:5190 HTTP/1.x` (nDPI's proxy
 * forms). Claimed only when the target is a listed AIM/ICQ host; the tunneled bytes are then decoded.
 */
function connectTunnel(d: Buffer, input: DetectInput): DetectResult {
  const eol = d.indexOf('\r\n');
  if (eol < 0) return d.length < 512 ? 'more' : null;
  const m = /^CONNECT ([A-Za-z0-9.-]{1,253}):(\d{1,5}) HTTP\/1\.[01]$/.exec(d.toString('latin1', 0, eol));
  if (!m) return null;
  const hit = input.lookup.host(m[1].toLowerCase());
  if (!hit || (hit.protocol !== 'aim' && hit.protocol !== 'icq')) return null;
  return {
    protocol: hit.protocol,
    serverName: m[1].toLowerCase(),
    evidence: { signature: CONNECT_EVIDENCE, reason: `HTTP CONNECT to ${m[1].toLowerCase()}:${m[2]} (${hit.matched})` },
  };
}

const MID_STREAM_WINDOW = 4096;
const MID_STREAM_CANDIDATES = 64;

/**
 * A capture that starts in the middle of a long-lived connection (no SYN seen) may not start on a
 * FLAP boundary: look for a later offset where at least two complete, consistent FLAPs (one a known
 * SNAC) follow, and then another FLAP's start byte or a third frame. Two frames that end just where the
 * bytes so far end prove nothing about what comes next: a pcap file being downloaded holds a server's
 * two-FLAP segment, and when a segment of the download ended right after it, it read as AIM
 * (near-miss seeds 20261174, 20261319). Such a candidate waits for the next bytes, unless the other
 * direction holds FLAPs too (there it was the HTTP request).
 */
function midStream(d: Buffer, input: DetectInput, data?: SignatureData): DetectResult {
  // a flow seen from its SYN starts at byte 0: OSCAR would start with a FLAP there
  if (input.flow.clientBy === 'syn') return null;
  // a Direct IM connection picked up inside a frame: the next whole ODC2 header of an IM frame
  const odc = findOdcHeader(d, MID_STREAM_WINDOW).at;
  if (odc >= 0) {
    return { protocol: 'aim', evidence: { signature: ODC_EVIDENCE, reason: `ODC2 Direct IM header at offset ${odc} (capture started mid-connection)` } };
  }
  let tried = 0;
  let waiting = false;
  for (let i = d.indexOf(0x2a, 1); i > 0 && i < MID_STREAM_WINDOW && tried < MID_STREAM_CANDIDATES; i = d.indexOf(0x2a, i + 1)) {
    tried++;
    const r = scanFlaps(d.subarray(i));
    if (r.ok && r.complete >= 2 && r.strong >= 1) {
      if (r.complete === 2 && i + r.end === d.length && firstChain(input.other) === undefined) {
        waiting = true;
        continue;
      }
      return {
        protocol: protocolFor(input, data),
        evidence: { signature: 'oscar.flap', reason: `${r.complete} consistent FLAP frames from offset ${i} (capture started mid-connection)` },
      };
    }
  }
  return (d.length < MID_STREAM_WINDOW && tried < MID_STREAM_CANDIDATES) || waiting ? 'more' : null;
}

/** The first whole consistent FLAPs (a sign-on or a known SNAC among them) in `o`, from its start or, picked up mid-frame, further on. */
function firstChain(o: Buffer): FlapScan | undefined {
  let tried = 0;
  for (let i = o.indexOf(0x2a); i >= 0 && i < MID_STREAM_WINDOW && tried < MID_STREAM_CANDIDATES; i = o.indexOf(0x2a, i + 1)) {
    tried++;
    const r = scanFlaps(o.subarray(i));
    if (r.ok && r.complete >= 1 && r.strong >= 1) return r;
  }
  return undefined;
}

export const module: SignatureModule = {
  id: 'oscar',
  protocols: ['aim', 'icq'],
  transports: ['tcp'],
  detect: declineOnThrow(detectOscar),
  decoder(ctx, detection: Detection) {
    if (detection.evidence.signature === OFT_EVIDENCE) return new OftDecoder(ctx);
    if (detection.evidence.signature === ODC_EVIDENCE) return new OdcDecoder(ctx);
    return new OscarSession(ctx, detection.evidence.signature === CONNECT_EVIDENCE);
  },
};
