// Other readers' test files, read against tshark: gopacket 1.1.19's pcapng format suite (made with
// hadrielk/pcapng-test-generator, both byte orders: several sections in one file, a section of the
// other byte order, interfaces of different link types and snapshot lengths, simple packet blocks,
// name resolution and interface statistics blocks, custom blocks, options everywhere, a section of
// version 2), tcpflow 1.6.1's and dpkt 1.9.8's test captures (out-of-order and split TCP, a capture
// cut short in a record header, a DNS answer cut by the snaplen). For every file: as many packets as
// tshark's packet records (tshark lists a custom block as a frame too: it has no link type and is no
// packet), the frames the snapshot length cut counted as such and nothing called malformed, an error
// exactly where tshark stops with one (one line, after the summary and the stats event of what was
// read), and no IM event. .ci/fetch-test-captures.sh fetches them from Debian's source packages
// (sha256 checked) into $SHADOWIM_THIRD_PARTY (../third-party-captures).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { THIRD_PARTY_DIR, THIRD_PARTY_HINT } from '../helpers/paths';
import { analyzeEach, type RunResult } from '../helpers/run';
import { haveTshark } from '../helpers/tshark';

const IM_TYPES = new Set(['session', 'message', 'file_transfer', 'credential', 'alert']);
const DIRS = ['gopacket-1.1.19', 'tcpflow-1.6.1', 'dpkt-1.9.8'].map((d) => path.join(THIRD_PARTY_DIR, d));

function capturesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.(pcap|pcapng|cap)$/.test(f)).map((f) => path.join(dir, f));
}

/** What tshark reads in a file: packet records (custom blocks left out), those cut by the snaplen, whether it stopped on an error. */
function tsharkView(file: string): { packets: number; cut: number; malformed: number; failed: boolean } {
  const r = spawnSync('tshark', ['-r', file, '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.encap_type', '-e', 'frame.cap_len', '-e', 'frame.len', '-e', '_ws.malformed'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  let packets = 0, cut = 0, malformed = 0;
  for (const line of r.stdout.split('\n')) {
    const [encap, capLen, len, bad] = line.split('\t');
    if (!encap) continue;
    packets++;
    if (Number(capLen) < Number(len)) cut++;
    if (bad) malformed++;
  }
  return { packets, cut, malformed, failed: r.status !== 0 };
}

const have = DIRS.every((d) => fs.existsSync(d));
(have && haveTshark ? describe : describe.skip)(`corpus: other readers' test files (gopacket's pcapng suite, tcpflow, dpkt) in ${THIRD_PARTY_DIR} against tshark (${THIRD_PARTY_HINT}; tshark installed by .ci/run)`, function () {
  this.timeout(900000);
  const files = DIRS.flatMap(capturesUnder).map((f) => path.relative(THIRD_PARTY_DIR, f)).sort();
  let runs = new Map<string, RunResult>();
  const truth = new Map<string, ReturnType<typeof tsharkView>>();
  const stats = (f: string) => runs.get(f)!.events.find((e) => e.type === 'stats');

  before(async () => {
    runs = await analyzeEach(THIRD_PARTY_DIR, files);
    for (const f of files) truth.set(f, tsharkView(path.join(THIRD_PARTY_DIR, f)));
  });

  it('holds them (over 80: 52 of the pcapng suite)', () => {
    assert.ok(files.length > 80, `only ${files.length}`);
    assert.equal(files.filter((f) => f.endsWith('.pcapng')).length, 52);
  });

  it("reads as many packets as tshark's packet records in every file", () => {
    const differ = files.filter((f) => stats(f)?.packets !== truth.get(f)!.packets).map((f) => `${f}: ${stats(f)?.packets} vs tshark ${truth.get(f)!.packets}`);
    assert.deepEqual(differ, []);
    assert.ok(files.some((f) => truth.get(f)!.packets > 0 && runs.get(f)!.stdout.length > 0));
  });

  it('counts the frames the snapshot length cut as such (as tshark finds them), and none of them, nor anything else, as malformed', () => {
    const differ = files.filter((f) => (stats(f)?.snapped ?? 0) !== truth.get(f)!.cut || stats(f)?.malformed !== truth.get(f)!.malformed)
      .map((f) => `${f}: snapped ${stats(f)?.snapped} malformed ${stats(f)?.malformed} vs tshark cut ${truth.get(f)!.cut} malformed ${truth.get(f)!.malformed}`);
    assert.deepEqual(differ, []);
    assert.ok(files.filter((f) => truth.get(f)!.cut > 0).length >= 20, 'the suite has cut frames to count');
  });

  it('ends with a one-line error exactly where tshark stops with one, after the summary and the stats event of what was read', () => {
    const failed = files.filter((f) => truth.get(f)!.failed);
    assert.ok(failed.length >= 3, `tshark failed on ${failed.join(', ')}`);
    const differ = files.filter((f) => (runs.get(f)!.status !== 0) !== truth.get(f)!.failed).map((f) => `${f}: exit ${runs.get(f)!.status}, tshark ${truth.get(f)!.failed ? 'failed' : 'read it'}`);
    assert.deepEqual(differ, []);
    for (const f of failed) {
      const lines = runs.get(f)!.stderr.trim().split('\n');
      assert.equal(lines.length, 2, `${f}: ${runs.get(f)!.stderr}`);
      assert.match(lines[0], / packets?, .* packets\/s\)$/);
      assert.match(lines[1], /: (truncated capture: .*|unsupported pcapng version 2.*)$/);
      assert.equal(runs.get(f)!.events.at(-1)?.type, 'stats', f);
    }
  });

  it('yields no IM session, message, file transfer, credential or alert, and no decoder error', () => {
    const im = files.flatMap((f) => runs.get(f)!.events.filter((e) => IM_TYPES.has(e.type)).map((e) => `${f}: ${e.type} ${e.protocol ?? ''}`));
    assert.deepEqual(im, []);
    assert.deepEqual(files.filter((f) => /decoder error/.test(runs.get(f)!.stderr)), []);
  });
});

// Serial, PPP and NFLOG link types in real captures (tcpdump's and nDPI's): PPP (9, and 50 in HDLC-like
// framing, Cisco HDLC found on either), Cisco HDLC (104) — routers' WAN links, BGP, LDP, MPLS
// traceroutes — and Linux NFLOG (239). Before 29 November every such frame was counted malformed. Now: the same TCP and UDP
// conversations as tshark's streams (leaving out packets quoted in ICMP errors, which tshark gives a
// stream of their own) in every file where tshark finds nothing malformed, and no frame malformed.
const SERIAL = new Set([9, 50, 104, 239]);
function pcapLinktype(file: string): number {
  const h = Buffer.alloc(24);
  const fd = fs.openSync(file, 'r');
  try {
    if (fs.readSync(fd, h, 0, 24, 0) < 24) return -1;
  } finally {
    fs.closeSync(fd);
  }
  const m = h.readUInt32LE(0);
  if (m === 0xa1b2c3d4 || m === 0xa1b23c4d) return h.readUInt32LE(20) & 0xffff;
  if (m === 0xd4c3b2a1 || m === 0x4d3cb2a1) return h.readUInt32BE(20) & 0xffff;
  return -1;
}
const SERIAL_DIRS = [path.join(THIRD_PARTY_DIR, 'tcpdump-4.99.3', 'tests'), path.join(THIRD_PARTY_DIR, 'ndpi-4.2', 'tests', 'pcap')];
const haveSerial = SERIAL_DIRS.every((d) => fs.existsSync(d));
(haveSerial && haveTshark ? describe : describe.skip)(`corpus: PPP, Cisco HDLC and NFLOG link types in tcpdump's and nDPI's captures against tshark (${THIRD_PARTY_HINT})`, function () {
  this.timeout(300000);
  const files = haveSerial ? SERIAL_DIRS.flatMap((d) => fs.readdirSync(d).filter((f) => f.endsWith('.pcap')).map((f) => path.join(d, f))).filter((f) => SERIAL.has(pcapLinktype(f))).map((f) => path.relative(THIRD_PARTY_DIR, f)).sort() : [];
  let runs = new Map<string, RunResult>();

  before(async () => {
    runs = await analyzeEach(THIRD_PARTY_DIR, files);
  });

  it('finds them (over 20 files, each of the four link types)', () => {
    assert.ok(files.length >= 20, files.join(' '));
    for (const lt of SERIAL) assert.ok(files.some((f) => pcapLinktype(path.join(THIRD_PARTY_DIR, f)) === lt), `link type ${lt}`);
  });

  it("the same TCP/UDP conversations as tshark's streams, nothing malformed, where tshark finds nothing malformed", () => {
    const differ: string[] = [];
    let flows = 0;
    for (const f of files) {
      const r = spawnSync('tshark', ['-r', path.join(THIRD_PARTY_DIR, f), '-Y', '!icmp && !icmpv6', '-T', 'fields', '-e', 'tcp.stream', '-e', 'udp.stream', '-e', '_ws.malformed'], { encoding: 'utf8' });
      const tcp = new Set<string>(), udp = new Set<string>();
      let malformed = 0;
      for (const line of r.stdout.split('\n')) {
        const [t, u, m] = line.split('\t');
        if (t) tcp.add(t.split(',')[0]);
        if (u) udp.add(u.split(',')[0]);
        if (m) malformed++;
      }
      if (malformed > 0) continue;
      const st = runs.get(f)!.events.find((e) => e.type === 'stats');
      flows += st?.flows ?? 0;
      if (st?.flows !== tcp.size + udp.size || st?.malformed !== 0) differ.push(`${f}: ${st?.flows} flows, ${st?.malformed} malformed; tshark ${tcp.size} TCP + ${udp.size} UDP streams`);
    }
    assert.deepEqual(differ, []);
    assert.ok(flows >= 15, `${flows} conversations in all`);
  });
});

// Users' tunnels in real captures: an ISP's IPv6 over L2TP over PPPoE (dpkt's nb6-http.pcap, a French
// "neuf box" line) and Teredo's qualification with its server (nDPI's teredo.pcap)
const TUNNEL_FILES = [path.join('dpkt-1.9.8', 'examples', 'data', 'nb6-http.pcap'), path.join('ndpi-4.2', 'tests', 'pcap', 'teredo.pcap')];
const haveTunnelFiles = TUNNEL_FILES.every((f) => fs.existsSync(path.join(THIRD_PARTY_DIR, f)));
(haveTunnelFiles && haveTshark ? describe : describe.skip)(`corpus: L2TP and Teredo in real captures against tshark (${THIRD_PARTY_HINT})`, function () {
  this.timeout(120000);
  let runs = new Map<string, RunResult>();
  /** tshark's frames carried in L2TP/Teredo, and its TCP and UDP streams (the tunnels' own datagrams among them) */
  const view = (f: string) => {
    const r = spawnSync('tshark', ['-r', path.join(THIRD_PARTY_DIR, f), '--enable-heuristic', 'teredo_udp', '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.protocols', '-e', 'tcp.stream', '-e', 'udp.stream'], { encoding: 'utf8' });
    let inside = 0;
    const tcp = new Set<string>(), udp = new Set<string>(), outerUdp = new Set<string>();
    for (const line of r.stdout.split('\n')) {
      const [protos, t, u] = line.split('\t');
      if (!protos) continue;
      const carried = /:(?:l2tp:ppp|teredo):(?:ip|ipv6)(?::|$)/.test(protos);
      if (carried) inside++;
      if (t) tcp.add(t);
      if (u) for (const s of u.split(',')) (carried || /:(l2tp|teredo)/.test(protos) ? outerUdp : udp).add(s);
    }
    return { inside, tcp: tcp.size, udp: [...udp].filter((s) => !outerUdp.has(s)).length };
  };
  before(async () => {
    runs = await analyzeEach(THIRD_PARTY_DIR, TUNNEL_FILES);
  });

  it("opens the same packets as tshark's L2TP and Teredo dissectors, and finds the TCP conversation inside L2TP", () => {
    for (const f of TUNNEL_FILES) {
      const t = view(f);
      const r = runs.get(f)!;
      assert.match(r.stderr, new RegExp(`, ${t.inside} inside tunnels,`), `${f}: tshark finds ${t.inside} packets inside`);
      const st = r.events.find((e) => e.type === 'stats');
      assert.equal(st.malformed, 0, f);
      // the flows: tshark's TCP streams and the UDP streams outside the tunnels, and L2TP's own
      // control channel, which stays an ordinary UDP flow (its LCP and control messages are no tunnel)
      const l2tpControl = f.includes('nb6') ? 1 : 0;
      assert.equal(st.flows, t.tcp + t.udp + l2tpControl, `${f}: tshark ${t.tcp} TCP + ${t.udp} UDP streams`);
    }
    const nb6 = view(TUNNEL_FILES[0]);
    assert.equal(nb6.tcp, 3, 'tshark: two TCP conversations over IPv4 and one over IPv6 inside L2TP');
  });
});
