// Real captures beyond ../shared/pcaps: nDPI 4.2's own test captures (258 files: IM, today's
// messengers, and about 230 captures of other protocols), with nDPI's per-flow verdicts beside them
// (tests/result/*.out). .ci/fetch-test-captures.sh fetches both from Debian's ndpi source package (sha256
// checked) into $SHADOWIM_THIRD_PARTY (../third-party-captures). Ground truth is nDPI's verdict per
// flow; where we disagree, test/corpus/ndpi-4.2-expect.json lists the flow and why, and every extra
// flow of ours names a tshark filter that shows what we read. So a new false positive on any of these
// captures, or a messenger flow no longer found, fails here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { THIRD_PARTY_DIR, THIRD_PARTY_HINT } from '../helpers/paths';
import { analyzeEach, type RunResult } from '../helpers/run';
import { haveTshark, tsharkRead } from '../helpers/tshark';

const DIR = path.join(THIRD_PARTY_DIR, 'ndpi-4.2', 'tests');
const have = fs.existsSync(path.join(DIR, 'result'));
const EXPECT = JSON.parse(fs.readFileSync(path.join(__dirname, 'ndpi-4.2-expect.json'), 'utf8'));
const MAP: Record<string, string[]> = EXPECT.ndpi_to_ours;
const NOT_IM = new Set<string>(EXPECT.not_im);
/** the one capture nDPI's suite holds cut short on purpose (a fuzzer's find) */
const TRUNCATED = 'fuzz-2021-10-13.pcap';

interface NdpiFlow {
  key: string;
  name: string;
  confidence: string;
  /** the IM ids of ours that agree; empty when nDPI's verdict is not IM */
  ours: string[];
}

/** "tcp a b" with the two endpoints in a fixed order */
function flowKey(transport: string, a: string, b: string): string {
  return `${transport.toLowerCase()} ${[a, b].sort().join(' ')}`;
}
function keyOf(flow: string): string {
  const [t, a, b] = flow.split(' ');
  return flowKey(t, a, b);
}
function endpoint(e: { ip: string; port: number }): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

/** nDPI's flow lines: `  12  TCP 1.2.3.4:5 <-> 6.7.8.9:10 [proto: 91.142/TLS.WhatsApp][…][Confidence: DPI]…` */
export function ndpiFlows(text: string): NdpiFlow[] {
  const flows: NdpiFlow[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s+\d+\s+(TCP|UDP)\s+(\S+) <?-> (\S+) \[proto: [\d.]+\/([A-Za-z0-9_.]+)\].*?\[Confidence: ([^\]]+)\]/.exec(line);
    if (!m) continue;
    const parts = m[4].split('.');
    const im = NOT_IM.has(parts[parts.length - 1]) ? [] : parts.flatMap((p) => MAP[p] ?? []);
    flows.push({ key: flowKey(m[1], m[2], m[3]), name: m[4], confidence: m[5], ours: im });
  }
  return flows;
}

(have ? describe : describe.skip)(`corpus: nDPI 4.2's test captures in ${DIR} (${THIRD_PARTY_HINT})`, function () {
  this.timeout(600000);
  const captures = have ? fs.readdirSync(path.join(DIR, 'pcap')).filter((f) => /\.(pcap|pcapng|cap)$/.test(f)).sort() : [];
  let runs = new Map<string, RunResult>();
  /** our sessions per capture: flow key → protocol */
  const ours = new Map<string, Map<string, string>>();
  const theirs = new Map<string, NdpiFlow[]>();

  before(async () => {
    runs = await analyzeEach(path.join(DIR, 'pcap'), captures);
    for (const f of captures) {
      const m = new Map<string, string>();
      for (const e of runs.get(f)!.events) if (e.type === 'session') m.set(flowKey(e.transport, endpoint(e.client), endpoint(e.server)), e.protocol);
      ours.set(f, m);
      const out = path.join(DIR, 'result', `${f}.out`);
      theirs.set(f, fs.existsSync(out) ? ndpiFlows(fs.readFileSync(out, 'utf8')) : []);
    }
  });

  it('holds the captures nDPI 4.2 ships (258 files, a result for all but one)', () => {
    assert.ok(captures.length >= 250, `only ${captures.length} captures in ${path.join(DIR, 'pcap')}`);
    const withResult = captures.filter((f) => fs.existsSync(path.join(DIR, 'result', `${f}.out`)));
    assert.ok(withResult.length >= captures.length - 1, `${captures.length - withResult.length} captures without nDPI's result`);
  });

  it('reads every capture to the end with no decoder error, and the truncated one with a one-line error that says where it was cut', () => {
    const failed = captures.filter((f) => (f !== TRUNCATED && runs.get(f)!.status !== 0) || /decoder error/.test(runs.get(f)!.stderr)).map((f) => `${f}: exit ${runs.get(f)!.status}: ${runs.get(f)!.stderr.trim().split('\n').pop()}`);
    assert.deepEqual(failed, []);
    if (captures.includes(TRUNCATED)) {
      const r = runs.get(TRUNCATED)!;
      assert.equal(r.status, 1);
      const last = r.stderr.trim().split('\n').pop()!;
      assert.match(last, /truncated capture: last record cut at byte \d+ \(\d+ bytes announced, \d+ present\)/);
    }
  });

  it('reports IM on no flow where nDPI finds none, except the flows listed (each shown by tshark)', () => {
    const extra: string[] = [];
    for (const f of captures) {
      const nd = new Map(theirs.get(f)!.map((x) => [x.key, x]));
      for (const [k, p] of ours.get(f)!) {
        const n = nd.get(k);
        if (!n || !n.ours.includes(p)) extra.push(`${f} ${k} ${p}${n ? ` (nDPI: ${n.name})` : ''}`);
      }
    }
    const listed = EXPECT.extra.map((x: any) => `${x.capture} ${keyOf(x.flow)} ${x.protocol}`);
    assert.deepEqual(extra.map((x) => x.replace(/ \(nDPI: .*\)$/, '')).sort(), listed.sort(), `flows we report that nDPI does not:\n${extra.join('\n')}`);
  });

  (haveTshark ? it : it.skip)('each listed extra flow shows in tshark what we read in it', () => {
    for (const x of EXPECT.extra) {
      if (!x.tshark) continue;
      const [filter, decodeAs] = x.tshark as [string, string | null];
      const args = ['-n', '-r', path.join(DIR, 'pcap', x.capture), '-Y', filter, '-T', 'fields', '-e', 'frame.number'];
      if (decodeAs) args.push('-d', decodeAs);
      const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(r.status, 0, `tshark ${args.join(' ')}: ${r.stderr}`);
      assert.ok(r.stdout.trim().length > 0, `${x.capture} ${x.flow}: no frame matches ${filter}`);
    }
  });

  (haveTshark ? it : it.skip)('names, for every session found by a TLS or QUIC server name, the name tshark reads in that flow\'s handshake', () => {
    let checked = 0;
    const wrong: string[] = [];
    for (const f of captures) {
      const bySni = runs.get(f)!.events.filter((e) => e.type === 'session' && e.evidence.some((v: any) => /^(tls|quic)\.sni$/.test(v.signature)));
      if (!bySni.length) continue;
      const r = spawnSync('tshark', ['-n', '-r', path.join(DIR, 'pcap', f), '-Y', 'tls.handshake.extensions_server_name', '-T', 'fields',
        '-e', 'ip.src', '-e', 'ipv6.src', '-e', 'tcp.srcport', '-e', 'udp.srcport', '-e', 'tls.handshake.extensions_server_name'], { encoding: 'utf8', maxBuffer: 64 << 20 });
      assert.equal(r.status, 0, r.stderr);
      const names = new Map<string, string>();
      for (const l of r.stdout.split('\n').filter(Boolean)) {
        const [ip, ip6, tp, up, name] = l.split('\t');
        names.set(`${ip || ip6}:${tp || up}`, name);
      }
      for (const e of bySni) {
        const reason: string = e.evidence.find((v: any) => /^(tls|quic)\.sni$/.test(v.signature)).reason;
        const ours = /server name (\S+)/.exec(reason)?.[1];
        const theirs = names.get(`${e.client.ip}:${e.client.port}`);
        checked++;
        if (ours !== theirs) wrong.push(`${f} ${e.client.ip}:${e.client.port}: ours ${ours}, tshark ${theirs}`);
      }
    }
    assert.deepEqual(wrong, []);
    assert.ok(checked >= 60, `only ${checked} sessions found by a server name`);
  });

  // the cleartext IM among them, on ports tshark gives to other dissectors: ICQ on 443, IRC on 8000
  (haveTshark ? it : it.skip)('reads the same chat messages as tshark in the cleartext IM captures (Oscar.pcap, irc.pcap)', () => {
    for (const [f, decodeAs, min] of [['Oscar.pcap', 'tcp.port==443,aim', 2], ['irc.pcap', 'tcp.port==8000,irc', 0]] as const) {
      if (!captures.includes(f)) continue;
      const want = tsharkRead(path.join(DIR, 'pcap', f), [decodeAs]);
      assert.ok(want.length >= min, `${f}: tshark reads ${want.length} messages`);
      const got = runs.get(f)!.events.filter((e) => e.type === 'message');
      assert.deepEqual(got.map((e) => e.text).sort(), want.map((w) => w.text).sort(), f);
      for (const w of want) {
        assert.ok(got.some((e) => e.text === w.text && (w.from === undefined || e.from === w.from) && (w.to === undefined || e.to === w.to)),
          `${f} ${JSON.stringify(w.text)}: tshark says ${w.from ?? '?'} -> ${w.to ?? '?'}`);
      }
    }
    // the ICQ session names both UINs: the peer tshark reads in the ICBMs, and our own, the owner
    // UID tshark reads in the family-0x0015 (ICQ) requests
    if (!captures.includes('Oscar.pcap')) return;
    const r = spawnSync('tshark', ['-n', '-r', path.join(DIR, 'pcap', 'Oscar.pcap'), '-d', 'tcp.port==443,aim', '-Y', 'aim.fnac.family == 0x0015', '-T', 'fields', '-e', 'aim_icq.owner_uid'], { encoding: 'utf8' });
    const owners = [...new Set(r.stdout.split('\n').filter(Boolean))];
    assert.equal(owners.length, 1, r.stdout + r.stderr);
    const peers = tsharkRead(path.join(DIR, 'pcap', 'Oscar.pcap'), ['tcp.port==443,aim']).flatMap((w) => [w.from, w.to]).filter((u): u is string => !!u);
    const icq = runs.get('Oscar.pcap')!.events.find((e) => e.type === 'session');
    assert.deepEqual([icq?.protocol, [...(icq?.users ?? [])].sort()], ['icq', [...new Set([owners[0], ...peers])].sort()]);
  });

  it('reports every flow nDPI finds a messenger on by its content (not the DNS queries), with the same messenger, except the flows listed', () => {
    const missed: string[] = [];
    for (const f of captures) {
      const o = ours.get(f)!;
      for (const n of theirs.get(f)!) {
        if (!n.ours.length || !n.confidence.startsWith('DPI') || n.name.startsWith('DNS')) continue;
        const p = o.get(n.key);
        if (!p || !n.ours.includes(p)) missed.push(`${f} ${n.key} ${n.name}${p ? ` (ours: ${p})` : ''}`);
      }
    }
    // an entry with '*' for an endpoint stands for `count` flows
    const listed: string[] = [];
    let rest = missed;
    for (const x of EXPECT.missed) {
      if (!x.flow.includes('*')) {
        listed.push(`${x.capture} ${keyOf(x.flow)} ${x.ndpi}`);
        continue;
      }
      const [t, a, b] = x.flow.split(' ');
      const fixed = a === '*' ? b : a;
      const like = (m: string) => m.startsWith(`${x.capture} ${t} `) && m.endsWith(` ${x.ndpi}`) && m.split(' ').slice(2, 4).includes(fixed);
      assert.equal(rest.filter(like).length, x.count, `${x.capture} ${x.flow}: ${rest.filter(like).length} flows missed, ${x.count} listed`);
      rest = rest.filter((m) => !like(m));
    }
    assert.deepEqual(rest.sort(), listed.sort(), `flows nDPI finds a messenger on that we do not:\n${rest.join('\n')}`);
  });
});
