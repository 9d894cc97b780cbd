// The signature engine: the sensor's FlowInspector. For each flow it offers the first bytes of each
// direction to every module that speaks the flow's transport, stops trying after a bounded number of
// bytes/packets, hands the flow to the winning module's decoder, and reports one `session` event per
// IM flow when it ends. Decoders never crash the sensor: an exception disables that decoder and is
// counted as malformed input on the session.

import path from 'node:path';
import type { Endpoint, Evidence, FileTransferEvent, ShadowEvent, Transport } from '../common/events';
import { isoTime } from '../common/events';
import type { Dir, EndReason, FlowCounters, FlowHandler, FlowInfo, FlowInspector } from '../sensor/types';
import type { DetectInput, Detection, FileMeta, FileWriter, KnowledgeBase, Lookup, OpeningCheck, SessionContext, SignatureData, StreamDecoder } from './types';
import type { LoadedModule, Registry } from './registry';
import { HomeNets } from './homeNets';
import { Carver, CountingWriter, sanitizeFileName, type CarvedFile, type FileHandling } from './carve';
import { fileTypeOf } from './fileType';
import { readDataFile } from '../common/dataFile';
import { endpointKey, zoneKey } from '../common/zoneKey';
import { canonicalIp } from '../sensor/addr';
import { normalizeHost } from './lookup';
import { clip } from '../analyzer/clip';
import { shownIdentity } from '../analyzer/identity';

export interface EngineOptions {
  /** where contract events go */
  emit: (ev: ShadowEvent) => void;
  /** networks that are "ours" (direction of messages); default RFC 1918, ULA, loopback, link-local */
  homeNets?: string[];
  /** stop trying to classify after this many payload bytes per direction (default 8192) */
  maxDetectBytes?: number;
  /** … or after this many payload packets per direction (default 12); TCP goes on past them on tiny segments (LATE_OFFERS) */
  maxDetectPackets?: number;
  /** most DNS answers remembered (default 200000) */
  maxKnownNames?: number;
  sensor?: string;
  /** called with every carved file (fingerprinting, scanning, quarantine) */
  onFile?: (f: CarvedFile, flow: FlowInfo) => void;
  /** file handling (analyzer/files): spools carves, and emits their events itself once scanned */
  files?: FileHandling;
  /** most transfers carved at once on one flow (default 16) and in all (default 1024); more are counted, not carved */
  maxCarvesPerFlow?: number;
  maxCarves?: number;
}

interface Expectation {
  transport: Transport;
  server: Endpoint;
  /** the announcing flow's tunnel zone: the addresses it names are that zone's */
  zone?: string;
  clientIp?: string;
  expires: number;
  protocol: string;
  reason: string;
  decoder: (ctx: SessionContext) => StreamDecoder;
  /** the connection is the announced one only when its first bytes say so (else it is detected as any flow) */
  verify?: OpeningCheck;
  /** what is announced (a transfer's id): the same parent announcing the same key and endpoint again replaces it */
  key?: string;
  /** the engine's count of announcements when this one was made: a flow that began before it is not its connection */
  seq: number;
  parent: FlowSession;
}

const MAX_EXPECTATIONS = 10000;
/** an announcement by host name is kept under this prefix and the name (lower case, no final dot) */
const NAME_KEY = 'dns:';

/** a host name as DNS would answer for it (RFC 1123 labels; underscores as DNS allows), else undefined */
function announcedName(s: string): string | undefined {
  const n = normalizeHost(s);
  return /^(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/.test(n) && /[a-z_-]/.test(n) ? NAME_KEY + n : undefined;
}
/** one flow's announcements expected at once, at most: a flow cannot fill the engine's table alone */
const MAX_EXPECTATIONS_PER_FLOW = 64;
/** announcements at one endpoint a flow's opening is checked against, at most, per look */
const MAX_VERIFY = 64;
/** … of them from one announcing flow */
const MAX_VERIFY_PER_PARENT = 16;
/** entries of an endpoint's list looked at per look, at most (expired ones, others' included) */
const MAX_VISIT = 1024;
/** verify calls for one flow's openings in all (an opening a byte per segment, against 64 announcements) */
const MAX_VERIFY_PER_FLOW = 512;
/** bytes of a direction's opening an announcement may ask for before it is told */
const MAX_OPENING = 1024;

/** a new flow at an endpoint where announcements wait for an opening to verify (Engine.claimExpectation) */
interface Pending {
  /** the endpoints whose lists hold announcements this flow may be, in the order they are asked */
  cands: PendingEndpoint[];
  firstTs: number;
  /** verify calls made for this flow so far (MAX_VERIFY_PER_FLOW at most) */
  asked: number;
  /** Engine.announcements when the flow began: announcements made later are not for it */
  seq: number;
}
/** one endpoint a pending flow may have been announced at: by address or by name, either way round */
interface PendingEndpoint {
  endpoint: string;
  clientIp: string;
  /** the flow's client is the announced server (the sensor missed the SYN): its dir 1 connected */
  swapped: boolean;
}
const MAX_USERS_PER_SESSION = 64;
const MAX_EVIDENCE_PER_SESSION = 16;
/** a server name's characters in a session event (a DNS name's most): SNI, Host headers, stream domains */
const MAX_SERVER_NAME = 253;

export class Engine implements FlowInspector {
  readonly kb: NameCache;
  readonly lookup: Lookup;
  readonly homeNets: HomeNets;
  readonly maxDetectBytes: number;
  readonly maxDetectPackets: number;
  /** notImBanners.yaml: first bytes of cleartext protocols that are not IM */
  readonly notImBanners: Buffer[] = notImBanners();
  /** the modules offered a flow's first bytes, by transport */
  readonly byTransport: Record<Transport, LoadedModule[]>;
  private expectations = new Map<string, Expectation[]>();
  private expectationCount = 0;
  /** an announcement named a host: new flows' server names are looked up too (set once, never cleared) */
  private namedExpectations = false;
  /** announcements made so far (Expectation.seq) */
  private announcements = 0;
  private lastTick = 0;
  /** counters for the end-of-run summary */
  readonly stats = { flows: 0, imSessions: 0, decoderErrors: 0, filesCarved: 0, filesNotCarved: 0 };
  /** transfers being carved now (all flows) */
  activeCarves = 0;
  /** the DetectInput every flow session refills before offering bytes to the modules */
  readonly detectInput: DetectInput;
  /** offers of bytes to the modules so far (DetectInput.offer) */
  offers = 0;

  constructor(readonly registry: Registry, readonly opts: EngineOptions) {
    this.kb = new NameCache(opts.maxKnownNames ?? 200000);
    // the same server address is asked for by newFlow, then by TLS/messengers detection: the last
    // answer is kept (the tables do not change once loaded)
    let lastIp: string | undefined;
    let lastIpAnswer: { protocol: string; matched: string } | undefined;
    this.lookup = {
      host: (name) => registry.hosts.lookup(name),
      notIm: (name) => registry.hosts.notIm(name),
      ip: (ip) => {
        if (ip !== lastIp) {
          lastIpAnswer = registry.cidrs.lookup(ip);
          lastIp = ip;
        }
        return lastIpAnswer;
      },
    };
    this.homeNets = new HomeNets(opts.homeNets);
    this.detectInput = { transport: 'tcp', dir: 0, data: EMPTY, other: EMPTY, packetIndex: 0, flow: undefined as unknown as FlowInfo, knownServerName: undefined, lookup: this.lookup, offer: 0 };
    this.maxDetectBytes = opts.maxDetectBytes ?? 8192;
    this.maxDetectPackets = opts.maxDetectPackets ?? 12;
    this.byTransport = {
      tcp: registry.modules.filter((m) => m.module.transports.includes('tcp')),
      udp: registry.modules.filter((m) => m.module.transports.includes('udp')),
    };
  }

  newFlow(flow: FlowInfo): FlowHandler | null {
    this.stats.flows++;
    const exp = this.takeExpectation(flow);
    const s = new FlowSession(this, flow);
    if (exp && !('cands' in exp)) {
      s.adoptExpectation(exp);
      return s;
    }
    // announcements that want to see the first bytes wait for them, while the flow is detected as any
    if (exp) s.pendingExpectation = exp;
    // A server address that DNS resolved from an IM host name, or one in an IM address list,
    // classifies the flow tentatively; the flow's own bytes may still refine or override it.
    const name = this.kb.nameFor(flow.server.ip, flow.zone);
    const byName = name ? this.lookup.host(name) : undefined;
    if (byName) {
      s.tentative({ protocol: byName.protocol, serverName: name, encrypted: true,
        evidence: { signature: 'dns.learned', reason: `server address was resolved from ${name} (matches ${byName.matched})` } });
    } else {
      const byIp = this.lookup.ip(flow.server.ip);
      if (byIp) s.tentative({ protocol: byIp.protocol, encrypted: true,
        evidence: { signature: 'ip.list', reason: `server address in ${byIp.protocol} range ${byIp.matched}` } });
    }
    return s;
  }

  tick(ts: number): void {
    if (ts - this.lastTick < 10_000_000) return;
    this.lastTick = ts;
    for (const [k, list] of this.expectations) {
      const keep = list.filter((e) => e.expires > ts);
      for (const e of list) if (e.expires <= ts) e.parent.announced--;
      this.expectationCount -= list.length - keep.length;
      if (keep.length) this.expectations.set(k, keep);
      else this.expectations.delete(k);
    }
  }

  /**
   * Adds an announced connection. The same flow announcing the same key at the same endpoint again (a
   * repeated transport message, a re-sent offer) replaces its expectation: the connection carries what
   * was offered last. Bounded: 10,000 in all, MAX_EXPECTATIONS_PER_FLOW per announcing flow.
   */
  addExpectation(e: Expectation): void {
    e.seq = ++this.announcements;
    if (e.server.ip.startsWith(NAME_KEY)) this.namedExpectations = true;
    const k = endpointKey(e.transport, e.server.ip, e.server.port, e.zone);
    const list = this.expectations.get(k) ?? [];
    const i = e.key === undefined ? -1 : list.findIndex((x) => x.parent === e.parent && x.clientIp === e.clientIp && x.key === e.key);
    if (i >= 0) {
      e.seq = list[i].seq; // the same announcement, re-sent: still claimable by a flow that began before
      list[i] = e;
      return;
    }
    if (this.expectationCount >= MAX_EXPECTATIONS || e.parent.announced >= MAX_EXPECTATIONS_PER_FLOW) return;
    list.push(e);
    this.expectations.set(k, list);
    this.expectationCount++;
    e.parent.announced++;
  }

  /**
   * The announcement a new flow is, when the first one live at its endpoint needs no look at the
   * bytes (taken at once); else the place to verify its opening against (Pending): announcements
   * with a `verify` stay in the list until a flow's opening claims one, so a flow that is not one takes
   * nothing from the connection still to come, and several to one endpoint (a proxy) are told apart.
   */
  private takeExpectation(flow: FlowInfo): Expectation | Pending | undefined {
    if (this.expectationCount === 0) return undefined;
    // the sensor may have the sides the wrong way round when it missed the SYN: try both, by address,
    // then by the names DNS answered for the address (announced by name); every endpoint with
    // announcements to verify is kept (one by address, a peer's decoy, must not hide one by name)
    let cands: PendingEndpoint[] | undefined;
    for (let t = 0; t < 4; t++) {
      const [srv, cli] = t % 2 === 0 ? [flow.server, flow.client] : [flow.client, flow.server];
      const names = t < 2 ? undefined : this.namedExpectations ? this.kb.namesFor(srv.ip, flow.zone) : NO_NAMES;
      for (let j = 0; j < (names ? names.length : 1); j++) {
        const k = endpointKey(flow.transport, names ? NAME_KEY + names[j] : srv.ip, srv.port, flow.zone);
        const list = this.expectations.get(k);
        if (!list) continue;
        const i = list.findIndex((e) => e.expires >= flow.firstTs && (!e.clientIp || e.clientIp === cli.ip));
        if (i < 0) continue;
        if (list[i].verify || cands) (cands ??= []).push({ endpoint: k, clientIp: cli.ip, swapped: srv === flow.client });
        else return this.remove(k, list, i);
      }
    }
    return cands && { cands, firstTs: flow.firstTs, asked: 0, seq: this.announcements };
  }

  /**
   * The first announcement at a pending flow's endpoints whose `verify` accepts the opening (removed
   * from the list), 'more' when one needs more bytes to tell, or undefined: none is this flow.
   * Bounded: at most MAX_VERIFY of them are asked per opening.
   */
  claimExpectation(p: Pending, opening: Buffer, dir: Dir, other: Buffer): Expectation | 'more' | undefined {
    let more = false;
    // each endpoint the flow may have been announced at, in turn, the look's bounds shared evenly
    // between those with announcements (the ones at an address cannot use up the look of those at
    // its name; the look's and the flow's bounds stay what they were)
    let lists = 0;
    for (const c of p.cands) if (this.expectations.has(c.endpoint)) lists++;
    const maxAsked = Math.floor(MAX_VERIFY / Math.max(1, lists)), maxVisited = Math.floor(MAX_VISIT / Math.max(1, lists));
    for (const c of p.cands) {
      const list = this.expectations.get(c.endpoint);
      if (!list) continue;
      let asked = 0;
      let visited = 0;
      // Two passes: first each announcing flow's first MAX_VERIFY_PER_PARENT, so that one flow's 64
      // announcements (a peer's, never connected) cannot keep another's from being asked; then what is
      // left of the look in list order (a session's own later announcements behind its stale ones).
      // Every entry visited counts toward the bound.
      let perParent: Map<FlowSession, number> | undefined;
      let skipped = false;
      for (let pass = 0; pass < 2 && asked < maxAsked; pass++) {
        if (pass === 1 && !skipped) break;
        perParent?.clear();
        for (let i = 0; i < list.length && visited++ < maxVisited && asked < maxAsked; i++) {
          const e = list[i];
          if (!e.verify || e.seq > p.seq || e.expires < p.firstTs || (e.clientIp && e.clientIp !== c.clientIp)) continue;
          perParent ??= new Map();
          const n = perParent.get(e.parent) ?? 0;
          perParent.set(e.parent, n + 1);
          // pass 0 asks each flow's first share; pass 1 the rest
          if ((pass === 0) !== (n < MAX_VERIFY_PER_PARENT)) {
            if (pass === 0) skipped = true;
            continue;
          }
          if (++p.asked > MAX_VERIFY_PER_FLOW) return undefined;
          asked++;
          let v: boolean | 'more';
          try {
            v = e.verify(opening, c.swapped ? (dir === 0 ? 1 : 0) : dir, other);
          } catch (err) {
            this.stats.decoderErrors++;
            if (process.env.SHADOWIM_DEBUG) console.error(err);
            v = false;
          }
          if (v === true) return this.remove(c.endpoint, list, i);
          if (v === 'more') more = true;
        }
      }
    }
    // an opening is told within its first KiB, or it is none of these (bounded waiting)
    return more && opening.length < MAX_OPENING ? 'more' : undefined;
  }

  private remove(k: string, list: Expectation[], i: number): Expectation {
    const [e] = list.splice(i, 1);
    this.expectationCount--;
    e.parent.announced--;
    if (!list.length) this.expectations.delete(k);
    return e;
  }
}

/**
 * Bounded ip → names memory (insertion-ordered Map used as an LRU by re-insertion). One cache for all
 * zones: an address inside a tunnel zone is its own entry, looked up in the flow's zone only. An
 * address keeps the last NAMES_PER_ADDRESS names asked for it, newest first (one server, or one CDN
 * address, answers for several): classification takes the newest, an announcement by name any of them.
 */
export class NameCache implements KnowledgeBase {
  /** a name, or (rarely) several, newest first */
  private map = new Map<string, string | string[]>();
  /** the key inserted last: learning it again needs no re-insertion (it is the newest already), and a
   * delete + set per answer fills the Map's table with holes that a rehash must clear */
  private newest: string | undefined;
  /** the last address asked for and its answer: a UDP flow's server is asked for by newFlow and again
   * by its first datagram's detection, with nothing learned between (cleared by every learnName) */
  private asked: string | undefined;
  private answer: string | undefined;
  constructor(private readonly max: number) {}
  learnName(ip: string, name: string, _ts?: number, zone?: string): void {
    const k = zoneKey(ip, zone);
    this.asked = undefined;
    const n = name.slice(0, 253);
    const had = this.map.get(k);
    if (k !== this.newest) {
      if (had !== undefined) this.map.delete(k);
      else if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value as string);
      this.newest = k;
    }
    this.map.set(k, had === undefined || had === n ? n : typeof had === 'object' && had[0] === n ? had : withNewest(had, n));
  }
  nameFor(ip: string, zone?: string): string | undefined {
    const k = zoneKey(ip, zone);
    if (k !== this.asked || k === undefined) {
      const v = this.map.get(k);
      this.answer = typeof v === 'object' ? v[0] : v;
      this.asked = k;
    }
    return this.answer;
  }
  namesFor(ip: string, zone?: string): readonly string[] {
    const v = this.map.get(zoneKey(ip, zone));
    return v === undefined ? NO_NAMES : typeof v === 'object' ? v : [v];
  }
}

const NAMES_PER_ADDRESS = 4;
const NO_NAMES: readonly string[] = [];

/** `names` (one, or several newest first) with `n` put first, the oldest past NAMES_PER_ADDRESS out */
function withNewest(names: string | string[], n: string): string[] {
  const rest = typeof names === 'object' ? names.filter((x) => x !== n) : [names];
  return [n, ...rest.slice(0, NAMES_PER_ADDRESS - 1)];
}

/** Between: a UDP session let go between datagrams (SessionContext.datagramDone) */
const enum State { Detecting, Decoding, Done, Between }

/** FlowSession.offer's answer: classified, or bits */
const CLASSIFIED = -1;
const ANY_LEFT = 1;
const DECODER_WAITS = 2;

/** flag in a kept record's first word: bytes not kept (a gap for the decoder) */
const KEPT_GAP = 2;
// shared empty defaults: most flows never need their own (fewer objects per flow for the GC)
const NO_RECORDS: number[] = [];
const NO_EVIDENCE: Evidence[] = [];
const NO_CARVERS: Array<Carver | CountingWriter> = [];
/** a flow's module data until a module (or an expectation) classifies it: read only, so one for all */
const NO_DATA: SignatureData = Object.freeze({ id: '' });

/**
 * What a flow needs only while it is being classified, made at its first payload and dropped once it
 * is classified or given up: the flows that live longest (DNS flows kept by their decoder until they
 * time out, scans that never carry a payload) hold none of it.
 */
class Detecting {
  /** bit i: module i said no for that direction (see FlowSession.onData) */
  declined0 = 0;
  declined1 = 0;
  packets0 = 0;
  packets1 = 0;
  bytes0 = 0;
  bytes1 = 0;
  /** payloads seen while detecting (see FlowSession.keep()) */
  kept: Buffer[] = NO_KEPT;
  keptLen: number[] = NO_KEPT_LEN;
  order: number[] = NO_RECORDS;
  /** bit per direction: a hole in its first bytes, so its prefix is no longer offered to modules */
  gapped = 0;
  /** TCP: the prefix length at a direction's last offer, and its offers past the first maxP segments */
  offered0 = 0;
  offered1 = 0;
  lateOffers0 = 0;
  lateOffers1 = 0;
  /** bit 1/2: direction 0/1's last offer went to an announcement's verify only, not to the modules */
  held = 0;
  constructor(readonly candidates: LoadedModule[]) {}
}

/**
 * TCP past a direction's first maxDetectPackets segments (tiny segments: a client, or an evader,
 * writing a few bytes at a time): its prefix is offered again only once it has grown by half since
 * the last offer, at most this many times, until maxDetectBytes. A session sent a byte per segment
 * is still read to ~8 KiB in ~16 offers, instead of being given up after 12 bytes.
 */
const LATE_OFFERS = 16;

/** One flow as the engine sees it: detection first, then the decoder. Also the decoder's SessionContext. */
class FlowSession implements FlowHandler, SessionContext {
  wantsData = true;
  protocol = '';
  data: SignatureData = NO_DATA;
  private state = State.Detecting;
  /** while detecting, once a payload or gap came */
  private det: Detecting | undefined;
  private decoder: StreamDecoder | undefined;
  /** classified (by its bytes, a tentative guess or an expectation); the Detection itself is not kept */
  private detected = false;
  private tentativeDetection: Detection | undefined;
  /** this flow's endpoint has announcements waiting for an opening to verify (Expectation.verify) */
  pendingExpectation: Pending | undefined;
  /** this flow's announcements still expected (taken or expired ones are not counted: Engine keeps it) */
  announced = 0;
  private users: Set<string> | undefined;
  private evidence: Evidence[] = NO_EVIDENCE;
  private encrypted = false;
  private serverName: string | undefined;
  private service: string | undefined;
  private malformedCount = 0;
  private gapBytes = 0;
  private notIm = false;
  private lastTs = 0;
  private carvers: Array<Carver | CountingWriter> = NO_CARVERS;
  /** the home networks' outbound direction for this flow's addresses, once a message asked */
  private outbound: { client: string; server: string; dir: Dir } | undefined;

  constructor(private readonly engine: Engine, readonly flow: FlowInfo) {}

  private detecting(): Detecting {
    return (this.det ??= new Detecting(this.engine.byTransport[this.flow.transport]));
  }

  /** FlowHandler.finished: done with, never reported (not IM, or nothing found), nothing left to end */
  get finished(): boolean {
    return this.state === State.Between || (this.state === State.Done && this.decoder === undefined && this.carvers.length === 0 && !this.reported);
  }

  /** whether onEnd reports the flow as an IM session */
  private get reported(): boolean {
    return this.detected && !this.notIm && !!this.protocol;
  }

  /** FlowHandler.reopen */
  get reopen(): boolean {
    return this.state === State.Between;
  }

  get kb(): KnowledgeBase {
    return this.engine.kb;
  }

  tentative(d: Detection): void {
    this.tentativeDetection = d;
  }

  adoptExpectation(e: Expectation): void {
    this.protocol = e.protocol;
    this.data = e.parent.data;
    this.state = State.Decoding;
    this.detected = true;
    this.addEvidence({ signature: 'expected-connection', reason: e.reason });
    for (const u of e.parent.users ?? []) this.addUser(u);
    try {
      this.decoder = e.decoder(this);
    } catch (err) {
      this.decoderFailed(err);
    }
  }

  // ---- FlowHandler -------------------------------------------------------------------------

  onData(dir: Dir, data: Buffer, ts: number): void {
    this.lastTs = ts;
    if (this.state === State.Decoding) {
      this.feed(dir, data, ts);
      return;
    }
    if (this.state !== State.Detecting) return;
    const det = this.detecting();
    // the other side speaks: a prefix that grew since its last offer (a request finished in segments
    // too small for a late offer) is offered once more now, not at the end of the flow after this
    // side's reply has outgrown what detection keeps
    if (this.turnOffer(det, dir === 0 ? 1 : 0, ts)) {
      // classified: this segment is the decoder's (turnOffer changed the state: TS cannot see it)
      if ((this.state as State) === State.Decoding) this.feed(dir, data, ts);
      return;
    }
    if ((this.state as State) !== State.Detecting) return;
    if (dir === 0) {
      det.packets0++;
      det.bytes0 += data.length;
    } else {
      det.packets1++;
      det.bytes1 += data.length;
    }
    const tcp = this.flow.transport === 'tcp';
    // TCP modules look at the direction's whole prefix; the first segment is that prefix as it is,
    // uncopied: most flows are decided on it.
    let kept = false;
    let view = data;
    if (tcp && det.keptLen[dir] > 0) {
      this.keep(det, dir, data, ts);
      kept = true;
      view = det.kept[dir].subarray(0, det.keptLen[dir]);
    }
    if (tcp && (dir === 0 ? det.packets0 : det.packets1) > this.engine.maxDetectPackets && kept && !this.lateOffer(det, dir, view.length)) {
      if (this.tcpExhausted(det)) this.giveUp(dir);
      return;
    }
    const r = this.offer(det, dir, view, kept ? undefined : data, ts);
    if (r === CLASSIFIED) return;
    const anyLeft = (r & ANY_LEFT) !== 0;
    const decoderWaits = (r & DECODER_WAITS) !== 0;
    const maxP = this.engine.maxDetectPackets;
    const exhausted = tcp ? this.tcpExhausted(det) : det.packets0 >= maxP && (det.packets1 >= maxP || det.packets0 >= maxP * 2);
    if (!anyLeft || exhausted) this.giveUp(dir, data);
    // A UDP datagram is kept for replay only when a module with a decoder may still claim it: one
    // they all declined is not theirs (and a decoder fed it would only count it as malformed).
    else if (!kept && (tcp || decoderWaits)) this.keep(det, dir, data, ts);
  }

  /**
   * TCP: offers direction `o`'s kept prefix again when the other direction sends and `o` grew since
   * its last offer (only past the first maxDetectPackets segments, where not every segment is
   * offered); counted as one of its late offers, so the work stays bounded. True when classified.
   */
  private turnOffer(det: Detecting, o: Dir, ts: number): boolean {
    if (this.flow.transport !== 'tcp' || (o === 0 ? det.packets0 : det.packets1) <= this.engine.maxDetectPackets) return false;
    const len = det.keptLen[o];
    if (len <= (o === 0 ? det.offered0 : det.offered1) || (det.gapped & (o === 0 ? 1 : 2)) !== 0) return false;
    if ((o === 0 ? det.lateOffers0 : det.lateOffers1) >= LATE_OFFERS) return false;
    if (o === 0) det.lateOffers0++;
    else det.lateOffers1++;
    return this.offer(det, o, det.kept[o].subarray(0, len), undefined, ts) === CLASSIFIED;
  }

  /** TCP past the first segments: whether this prefix is offered (it grew by half), counting it */
  private lateOffer(det: Detecting, dir: Dir, len: number): boolean {
    const last = dir === 0 ? det.offered0 : det.offered1;
    const late = dir === 0 ? det.lateOffers0 : det.lateOffers1;
    if (late >= LATE_OFFERS || (len < last + (last >> 1) && len < this.engine.maxDetectBytes)) return false;
    if (dir === 0) det.lateOffers0++;
    else det.lateOffers1++;
    return true;
  }

  /** TCP: both directions are done with (each: a hole, maxDetectBytes, or its late offers spent), or the server never answered */
  private tcpExhausted(det: Detecting): boolean {
    const max = this.engine.maxDetectBytes, maxP = this.engine.maxDetectPackets;
    const done0 = (det.gapped & 1) !== 0 || det.bytes0 >= max || det.lateOffers0 >= LATE_OFFERS;
    const done1 = (det.gapped & 2) !== 0 || det.bytes1 >= max || det.lateOffers1 >= LATE_OFFERS;
    return done0 && (done1 || det.packets0 >= maxP * 2);
  }

  /**
   * Offers a direction's prefix (`view`) to the modules that have not declined it. `current`: the
   * payload being looked at when it is not kept. CLASSIFIED, or ANY_LEFT / DECODER_WAITS bits.
   */
  private offer(det: Detecting, dir: Dir, view: Buffer, current: Buffer | undefined, ts: number): number {
    const tcp = this.flow.transport === 'tcp';
    const other = dir === 0 ? 1 : 0;
    if (tcp) {
      if (dir === 0) det.offered0 = view.length;
      else det.offered1 = view.length;
    }
    // one input object per engine, refilled per packet: modules read it during the call only
    const input = this.engine.detectInput;
    input.transport = this.flow.transport;
    input.dir = dir;
    input.data = view;
    input.other = tcp && det.keptLen[other] > 0 ? det.kept[other].subarray(0, det.keptLen[other]) : EMPTY;
    input.packetIndex = (dir === 0 ? det.packets0 : det.packets1) - 1;
    input.flow = this.flow;
    input.knownServerName = this.engine.kb.nameFor(this.flow.server.ip, this.flow.zone);
    input.offer = ++this.engine.offers;
    const bit = dir === 0 ? 1 : 2;
    let anyLeft = (det.gapped & bit) !== 0;
    let decoderWaits = false;
    const pe = this.pendingExpectation;
    // (a direction with a hole in its opening cannot show how it opened, nor one with no byte yet: undecided)
    if (pe && !(det.gapped & bit) && view.length > 0) {
      const e = this.engine.claimExpectation(pe, view, dir, input.other);
      // an announced connection opening as announced so far: the modules wait until it is told
      // (else one that knows the opening, MSNFTP's VER line, would take the flow from its announcement)
      if (e === 'more') {
        input.data = input.other = EMPTY;
        // not shown to the modules: the flow's end offers it to them if nothing else did (lastOffers)
        det.held |= bit;
        return ANY_LEFT | DECODER_WAITS;
      } else if (e) {
        input.data = input.other = EMPTY;
        this.pendingExpectation = undefined;
        this.tentativeDetection = undefined;
        this.adoptExpectation(e);
        this.replayKept(current, dir, ts);
        return CLASSIFIED;
      } else this.pendingExpectation = undefined;
    }
    det.held &= ~bit;
    // bit i of declined0/declined1: module i said no for that direction (TCP only: on UDP every
    // datagram is offered); modules past the 31st are simply always asked
    const mine = dir === 0 ? det.declined0 : det.declined1;
    const both = det.declined0 & det.declined1;
    const candidates = det.candidates;
    for (let i = 0; i < candidates.length && !(det.gapped & bit); i++) {
      const m = i < 31 ? 1 << i : 0;
      if (both & m) continue;
      if (mine & m) {
        anyLeft = true; // declined this direction only: the other one may still be its
        continue;
      }
      const lm = candidates[i];
      let r;
      try {
        r = lm.module.detect(input, lm.data);
      } catch (err) {
        this.engine.stats.decoderErrors++;
        if (process.env.SHADOWIM_DEBUG) console.error(err);
        r = null;
      }
      if (r === null) {
        if (tcp && m) {
          if (dir === 0) det.declined0 |= m;
          else det.declined1 |= m;
          if (!((det.declined0 & det.declined1) & m)) anyLeft = true;
        } else anyLeft = true; // UDP datagrams are independent: one that is not ours does not rule out the next
      } else if (r === 'more') {
        anyLeft = true;
        if (lm.module.decoder) decoderWaits = true;
      } else {
        input.data = input.other = EMPTY; // nothing of this flow stays reachable from the engine
        this.classify(lm, r, current, dir, ts);
        return CLASSIFIED;
      }
    }
    input.data = input.other = EMPTY;
    return (anyLeft ? ANY_LEFT : 0) | (decoderWaits ? DECODER_WAITS : 0);
  }

  /**
   * Keeps a payload seen while detecting, for the decoder to replay in arrival order: one growable
   * buffer per direction (bounded) and a flat list of [dir | kind, offset, length, ts] records.
   * What does not fit is recorded as a gap, so the decoder is told instead of reading a spliced stream.
   */
  private keep(det: Detecting, dir: Dir, data: Buffer, ts: number): void {
    if (det.kept === NO_KEPT) {
      det.kept = [EMPTY, EMPTY];
      det.keptLen = [0, 0];
    }
    const len = det.keptLen[dir];
    if (len >= this.engine.maxDetectBytes * 2) {
      keptGap(det, dir, data.length, ts);
      return;
    }
    let buf = det.kept[dir];
    if (len + data.length > buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(len + data.length, buf.length * 2, 256));
      buf.copy(grown, 0, 0, len);
      buf = det.kept[dir] = grown;
    }
    data.copy(buf, len);
    det.keptLen[dir] = len + data.length;
    // the first record as a literal: a push onto [] reserves 17 slots
    if (det.order === NO_RECORDS) det.order = [dir, len, data.length, ts];
    else det.order.push(dir, len, data.length, ts);
  }

  onGap(dir: Dir, length: number, ts: number): void {
    this.gapBytes += length;
    if (this.state === State.Decoding && this.decoder?.onGap) {
      try {
        this.decoder.onGap(dir, length, ts);
      } catch (err) {
        this.decoderFailed(err);
      }
    } else if (this.state === State.Detecting && this.flow.transport === 'tcp') {
      // a hole in the first bytes: the prefix is no longer contiguous, stop classifying this direction
      // (its bytes are still kept, with the hole, for a decoder the other direction may choose)
      const det = this.detecting();
      if (dir === 0) det.packets0 = this.engine.maxDetectPackets;
      else det.packets1 = this.engine.maxDetectPackets;
      det.gapped |= dir === 0 ? 1 : 2;
      keptGap(det, dir, length, ts);
    }
  }

  onEnd(c: FlowCounters, reason: EndReason): void {
    if (this.state === State.Detecting) this.lastOffers();
    if (this.state === State.Detecting) this.giveUp();
    if (this.decoder?.onEnd) {
      try {
        this.decoder.onEnd(c.lastTs);
      } catch (err) {
        this.decoderFailed(err);
      }
    }
    // a transfer still open when its flow ends is reported with what was seen
    for (const c of this.carvers) c.end(c.lastTs || this.lastTs);
    this.state = State.Done;
    this.wantsData = false;
    if (!this.reported) return;
    this.engine.stats.imSessions++;
    // optional fields assigned, not spread in: on Node 20 each spread-in property costs ~1 µs
    const ev: Record<string, unknown> = {
      type: 'session',
      ts: isoTime(c.firstTs),
      protocol: this.protocol,
      transport: this.flow.transport,
      client: this.flow.client,
      server: this.flow.server,
      users: this.users ? [...this.users] : [],
      start: isoTime(c.firstTs),
      end: isoTime(c.lastTs),
      packets: c.packets,
      bytes: c.bytes,
      encrypted: this.encrypted,
      evidence: this.evidence === NO_EVIDENCE ? [] : this.evidence,
      flow_id: this.flow.id,
    };
    // the tunnel zone, only inside one: events outside tunnels are as they always were
    if (this.flow.zone) ev.zone = this.flow.zone;
    if (this.serverName) ev.server_name = clip(this.serverName, MAX_SERVER_NAME); // (a detection's name is not cut yet)
    if (this.service) ev.service = this.service;
    if (this.malformedCount) ev.malformed = this.malformedCount;
    if (c.gapBytes || this.gapBytes) ev.gaps = Math.max(c.gapBytes, this.gapBytes);
    if (this.engine.opts.sensor) ev.sensor = this.engine.opts.sensor;
    if (reason === 'evicted') ev.end_reason = 'evicted';
    this.engine.opts.emit(ev as unknown as ShadowEvent);
  }

  // ---- detection → decoding ---------------------------------------------------------------

  private classify(lm: LoadedModule, d: Detection, current?: Buffer, curDir: Dir = 0, curTs = 0): void {
    this.pendingExpectation = undefined; // (the announcements stay for the connection still to come)
    this.detected = true;
    this.protocol = d.protocol;
    this.data = lm.data;
    this.notIm = !!d.notIm;
    if (!lm.module.decoder) {
      // not IM and no decoder to change that (TLS/QUIC web, …): never reported, so nothing of the
      // detection is kept for the rest of the flow's life
      if (!this.notIm) {
        this.addEvidence(d.evidence);
        if (d.encrypted) this.encrypted = true;
        if (d.serverName) this.serverName = d.serverName;
      }
      this.finishDetecting(false);
      return;
    }
    this.addEvidence(d.evidence);
    if (d.encrypted) this.encrypted = true;
    if (d.serverName) this.serverName = d.serverName;
    try {
      this.decoder = lm.module.decoder(this, d);
    } catch (err) {
      this.decoderFailed(err);
      return;
    }
    this.state = State.Decoding;
    this.replayKept(current, curDir, curTs);
  }

  /** The new decoder reads what detection kept, in arrival order, then `current` (the payload being looked at, when not kept). */
  private replayKept(current: Buffer | undefined, curDir: Dir, curTs: number): void {
    const { order, kept } = this.det ?? NO_DETECTING;
    this.dropKept();
    // (Between: the decoder is done with what it read so far; what was kept is still its to read)
    for (let i = 0; i < order.length && (this.state === State.Decoding || this.state === State.Between); i += 4) {
      const dir = (order[i] & 1) as Dir;
      if (order[i] & KEPT_GAP) this.onGap(dir, order[i + 2], order[i + 3]);
      else this.feed(dir, kept[dir].subarray(order[i + 1], order[i + 1] + order[i + 2]), order[i + 3]);
    }
    if (current && (this.state === State.Decoding || this.state === State.Between)) this.feed(curDir, current, curTs);
  }

  /** At the end of a TCP flow still being classified: a direction's bytes kept since its last offer (tiny segments) are offered once. */
  private lastOffers(): void {
    const det = this.det;
    if (!det || this.flow.transport !== 'tcp') return;
    for (const d of [0, 1] as const) {
      const len = det.keptLen[d];
      if (this.state !== State.Detecting || (len <= (d === 0 ? det.offered0 : det.offered1) && !(det.held & (d + 1))) || det.gapped & (d + 1)) continue;
      if (this.offer(det, d, det.kept[d].subarray(0, len), undefined, this.lastTs) === CLASSIFIED || !(det.held & (d + 1))) continue;
      // still undecided by an announcement at the flow's end: it is none, and the modules have their look
      this.pendingExpectation = undefined;
      this.offer(det, d, det.kept[d].subarray(0, len), undefined, this.lastTs);
    }
  }

  /** `dir`/`data`: the payload being looked at, when it is not kept yet */
  private giveUp(dir?: Dir, data?: Buffer): void {
    if (this.tentativeDetection) {
      const t = this.tentativeDetection;
      this.tentativeDetection = undefined;
      if (this.opensAsNotIm(dir, data)) {
        this.finishDetecting(false);
        return;
      }
      this.detected = true;
      this.protocol = t.protocol;
      this.addEvidence(t.evidence);
      if (t.encrypted) this.encrypted = true;
      if (t.serverName) this.serverName = t.serverName;
    }
    this.finishDetecting(false);
  }

  /** Whether either side opened with a cleartext non-IM protocol's banner (notImBanners.yaml: SSH, mail, FTP, VNC). */
  private opensAsNotIm(dir: Dir | undefined, data: Buffer | undefined): boolean {
    const det = this.det;
    for (const d of [0, 1] as const) {
      const head = det && det.keptLen[d] > 0 ? det.kept[d].subarray(0, det.keptLen[d]) : d === dir ? data : undefined;
      if (head && head.length && this.engine.notImBanners.some((p) => head.length >= p.length && head.compare(p, 0, p.length, 0, p.length) === 0)) return true;
    }
    return false;
  }

  private finishDetecting(keepData: boolean): void {
    this.pendingExpectation = undefined; // (the announcements stay for the connection still to come)
    this.state = keepData ? State.Decoding : State.Done;
    this.wantsData = keepData;
    this.dropKept();
  }

  private dropKept(): void {
    this.det = undefined;
  }

  private feed(dir: Dir, data: Buffer, ts: number): void {
    if (!this.decoder) return;
    try {
      this.decoder.onData(dir, data, ts);
    } catch (err) {
      this.decoderFailed(err);
    }
  }

  private decoderFailed(err: unknown): void {
    this.engine.stats.decoderErrors++;
    this.malformed(`decoder error: ${(err as Error)?.message ?? String(err)}`.slice(0, 200));
    this.decoder = undefined;
    if (this.state === State.Decoding) this.state = State.Done;
    this.wantsData = false;
    if (process.env.SHADOWIM_DEBUG) console.error(err);
  }

  // ---- SessionContext ---------------------------------------------------------------------

  setProtocol(id: string, evidence?: Evidence): void {
    this.protocol = id;
    if (evidence) this.addEvidence(evidence);
  }

  addUser(id: string): void {
    const u = sanitizeIdentity(id);
    if (!u) return;
    this.users ??= new Set();
    if (this.users.size < MAX_USERS_PER_SESSION) this.users.add(u);
  }

  addEvidence(ev: Evidence): void {
    if (this.evidence.length >= MAX_EVIDENCE_PER_SESSION) return;
    for (const e of this.evidence) if (e.signature === ev.signature && e.reason === ev.reason) return; // (no closure per call)
    const copy = { signature: ev.signature.slice(0, 64), reason: clip(ev.reason, 300) };
    // the first as a one-element literal: a push onto [] reserves 17 slots, kept for the flow's life
    if (this.evidence === NO_EVIDENCE) this.evidence = [copy];
    else this.evidence.push(copy);
  }

  setEncrypted(evidence?: Evidence): void {
    this.encrypted = true;
    if (evidence) this.addEvidence(evidence);
  }

  setServerName(name: string): void {
    this.serverName = clip(name, MAX_SERVER_NAME);
  }

  setService(service: string): void {
    this.service = service.slice(0, 32);
  }

  setIm(im: boolean, evidence?: Evidence): void {
    this.notIm = !im;
    if (evidence) this.addEvidence(evidence);
  }

  malformed(_reason: string): void {
    this.malformedCount++;
  }

  direction(dir: Dir): 'outbound' | 'inbound' {
    // kept on the session (asked for every message; a WeakMap keyed by the flow cost ~0.7 µs a call)
    const c = this.flow.client.ip, s = this.flow.server.ip;
    let o = this.outbound;
    if (!o || o.client !== c || o.server !== s) o = this.outbound = { client: c, server: s, dir: this.engine.homeNets.outboundDirOf(c, s) };
    return o.dir === dir ? 'outbound' : 'inbound';
  }

  message(ts: number, dir: Dir, ev: Parameters<SessionContext['message']>[2]): void {
    const out: Record<string, unknown> = {
      type: 'message', ts: isoTime(ts), protocol: this.protocol,
      // names from the wire, cut as alerts show them (not every decoder cuts: SIP's CPIM From did not);
      // the text is bounded by each decoder (4,096-65,536 characters, docs/sensor.md)
      from: shownIdentity(ev.from), to: shownIdentity(ev.to), text: ev.text,
      direction: ev.direction ?? this.direction(dir),
      client: this.flow.client, server: this.flow.server, flow_id: this.flow.id,
    };
    if (this.flow.zone) out.zone = this.flow.zone;
    if (ev.kind) out.kind = ev.kind;
    if (this.engine.opts.sensor) out.sensor = this.engine.opts.sensor;
    this.engine.opts.emit(out as unknown as ShadowEvent);
  }

  fileTransfer(ts: number, dir: Dir, ev: Parameters<SessionContext['fileTransfer']>[2]): void {
    this.engine.opts.emit(this.fileEvent(ts, dir, ev));
  }

  private fileEvent(ts: number, dir: Dir, ev: Parameters<SessionContext['fileTransfer']>[2]): FileTransferEvent {
    const { direction, ...rest } = ev;
    return {
      ...rest,
      // names from the wire: no path, no control characters (signatures/carve.ts); parties cut as in messages
      filename: sanitizeFileName(rest.filename), from: shownIdentity(rest.from), to: shownIdentity(rest.to),
      type: 'file_transfer', ts: isoTime(ts), protocol: this.protocol,
      direction: direction ?? this.direction(dir),
      client: this.flow.client, server: this.flow.server, flow_id: this.flow.id,
      ...(this.flow.zone ? { zone: this.flow.zone } : {}),
      ...(this.engine.opts.sensor ? { sensor: this.engine.opts.sensor } : {}),
    };
  }

  credential(ts: number, _dir: Dir, ev: Parameters<SessionContext['credential']>[2]): void {
    const out: Record<string, unknown> = {
      type: 'credential', ts: isoTime(ts), protocol: this.protocol,
      user: shownIdentity(ev.user), mechanism: ev.mechanism,
      client: this.flow.client, server: this.flow.server, flow_id: this.flow.id,
    };
    if (this.flow.zone) out.zone = this.flow.zone;
    if (this.engine.opts.sensor) out.sensor = this.engine.opts.sensor;
    this.engine.opts.emit(out as unknown as ShadowEvent);
  }

  expect(spec: Parameters<SessionContext['expect']>[0], decoder: (ctx: SessionContext) => StreamDecoder): void {
    // addresses as flows write them: an announced "2001:DB8:0::1" is the flow to 2001:db8::1
    // a host name (an XMPP proxy's, an MSRP relay's) is the flow to an address DNS answered for it
    const ip = canonicalIp(spec.server.ip) ?? announcedName(spec.server.ip);
    const clientIp = spec.client ? canonicalIp(spec.client.ip) : undefined;
    if (ip === undefined || (spec.client && clientIp === undefined)) return;
    this.engine.addExpectation({
      transport: spec.transport,
      server: { ip, port: spec.server.port },
      zone: this.flow.zone,
      clientIp,
      seq: 0, // (set by addExpectation)
      expires: this.lastTs + (spec.ttlMicros ?? 300_000_000),
      protocol: spec.protocol ?? this.protocol,
      reason: clip(spec.reason, 200),
      decoder,
      verify: spec.verify,
      key: spec.key?.slice(0, 128),
      parent: this,
    });
  }

  openFile(_ts: number, dir: Dir, meta: FileMeta): FileWriter {
    const engine = this.engine;
    const files = engine.opts.files;
    const safe: FileMeta = { ...meta, filename: sanitizeFileName(meta.filename), from: shownIdentity(meta.from), to: shownIdentity(meta.to) };
    const base = {
      from: safe.from, to: safe.to, filename: safe.filename,
      ...(meta.size !== undefined ? { size: meta.size } : {}),
      stage: 'data' as const,
      ...(meta.transfer_id ? { transfer_id: meta.transfer_id } : {}),
    };
    // bounded: thousands of tiny transfers on one flow (or everywhere) cannot hold thousands of carves
    this.carvers = this.carvers.filter((c) => !c.finished); // (a new array: never the shared empty one)
    if (this.carvers.length >= (engine.opts.maxCarvesPerFlow ?? 16) || engine.activeCarves >= (engine.opts.maxCarves ?? 1024)) {
      engine.stats.filesNotCarved++;
      engine.activeCarves++;
      const w = new CountingWriter(safe, (observed, gaps, endTs) => {
        engine.activeCarves--;
        engine.opts.emit({ ...this.fileEvent(endTs, dir, base), complete: false, observed_size: observed,
          ...(gaps ? { gap_bytes: gaps } : {}), verdict: 'unscanned:too-many-transfers' });
      });
      this.carvers.push(w);
      return w;
    }
    engine.stats.filesCarved++;
    engine.activeCarves++;
    let spool;
    try {
      spool = files?.spool(safe, this.flow);
    } catch {
      spool = undefined;
    }
    const carver = new Carver(safe, (f: CarvedFile, endTs: number) => {
      engine.activeCarves--;
      f.direction = this.direction(dir);
      [f.sender, f.receiver] = dir === 0 ? [this.flow.client, this.flow.server] : [this.flow.server, this.flow.client];
      const ev: FileTransferEvent = {
        ...this.fileEvent(endTs, dir, base),
        complete: f.complete, observed_size: f.observedSize,
        sha256: f.sha256, md5: f.md5, file_type: fileTypeOf(f.head),
        ...(f.gapBytes ? { gap_bytes: f.gapBytes } : {}),
        ...(f.truncatedAt !== undefined ? { truncated_at: f.truncatedAt } : {}),
      };
      if (files) {
        files.finish(f, ev, this.flow); // emits the event once the file is scanned
        return;
      }
      engine.opts.emit(ev);
      engine.opts.onFile?.(f, this.flow);
    }, spool);
    this.carvers.push(carver);
    return carver;
  }

  stopInspecting(): void {
    this.decoder = undefined;
    this.state = State.Done;
    this.wantsData = false;
  }

  datagramDone(): void {
    // only a session onEnd would not report: a DNS client socket then holds nothing for its idle minute
    if (this.flow.transport !== 'udp' || this.state !== State.Decoding || this.carvers.length !== 0) return;
    if (this.reported) return;
    this.state = State.Between;
    this.wantsData = false;
  }
}

const EMPTY = Buffer.alloc(0);
const NO_KEPT: Buffer[] = [EMPTY, EMPTY];
const NO_KEPT_LEN: number[] = [0, 0];
/** nothing kept (a flow classified by an expectation or before any payload) */
const NO_DETECTING = new Detecting([]);

function keptGap(det: Detecting, dir: Dir, length: number, ts: number): void {
  if (det.order === NO_RECORDS) det.order = [dir | KEPT_GAP, 0, length, ts];
  else det.order.push(dir | KEPT_GAP, 0, length, ts);
}

/** Identities come from the wire: printable, no control characters, cut as alerts show them (256 characters, '…'). */
export function sanitizeIdentity(id: string): string {
  // eslint-disable-next-line no-control-regex
  return shownIdentity(String(id).replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim());
}

let banners: Buffer[] | undefined;
function notImBanners(): Buffer[] {
  if (!banners) {
    const doc = (readDataFile(path.join(__dirname, 'notImBanners.yaml')) ?? {}) as { prefixes?: unknown[] };
    banners = (doc.prefixes ?? []).filter((p): p is string => typeof p === 'string' && p.length > 0).map((p) => Buffer.from(p, 'latin1'));
  }
  return banners;
}
