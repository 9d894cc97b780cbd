// The shared real captures: recipe.docx (AIM OFT2) and ssh.trace (IRC DCC SEND) are reported with
// their true type and size, carved byte for byte (sha256 = tshark's follow of the transfer stream),
// and the kept copies read back as what they are by independent tools (python zipfile, capinfos).
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import { PCAPS_DIR, havePcaps } from '../helpers/paths';
import { shadowim } from '../helpers/run';

/** the server→client bytes of one TCP stream, as tshark follows it */
const quiet = { encoding: 'utf8' as const, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] as any };

function tsharkFollow(file: string, filter: string): { c: Buffer; s: Buffer } {
  const idx = execFileSync('tshark', ['-r', file, '-Y', filter, '-T', 'fields', '-e', 'tcp.stream'], quiet).trim().split('\n')[0];
  const out = execFileSync('tshark', ['-r', file, '-q', '-z', `follow,tcp,raw,${idx}`], quiet);
  // raw follow: lines of hex; lines indented by a tab are the second side (server → client)
  const body = out.split('\n').filter((l) => /^\t?[0-9a-f]+$/.test(l));
  return { c: Buffer.from(body.filter((l) => !l.startsWith('\t')).join(''), 'hex'), s: Buffer.from(body.filter((l) => l.startsWith('\t')).map((l) => l.slice(1)).join(''), 'hex') };
}

describe('files: real captures', function () {
  this.timeout(180000);
  let tmp: string;
  before(function () {
    if (!havePcaps()) this.skip();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-real-'));
  });
  after(() => tmp && fs.rmSync(tmp, { recursive: true, force: true }));

  /** each capture analyzed once (kept files in `out`), its events shared by the tests that read it */
  const runs = new Map<string, { events: any[]; out: string }>();
  function analyzed(name: string): { events: any[]; out: string } {
    let run = runs.get(name);
    if (!run) {
      const out = path.join(tmp, path.basename(name));
      const r = shadowim(['analyze', path.join(PCAPS_DIR, name), '--format', 'jsonl', '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      runs.set(name, (run = { events: r.events, out }));
    }
    return run;
  }

  it('aim-puzzle1-filetransfer: recipe.docx is a docx of 12008 bytes, complete, equal to the OFT payload tshark follows; python reads the kept copy', function () {
    const file = path.join(PCAPS_DIR, 'im/aim-puzzle1-filetransfer.pcap');
    const { events, out } = analyzed('im/aim-puzzle1-filetransfer.pcap');
    const d = events.filter((e) => e.type === 'file_transfer' && e.stage === 'data');
    assert.equal(d.length, 1);
    const f = d[0];
    assert.equal(f.filename, 'recipe.docx');
    assert.equal(f.file_type, 'docx');
    assert.equal(f.size, 12008);
    assert.equal(f.observed_size, 12008);
    assert.equal(f.complete, true);
    assert.equal(f.verdict, 'unscanned:no-scanner');
    assert.equal(f.quarantined, true);
    // oracle: the OFT connection (port 5190 between the peers) — after the 256-byte OFT2 prompt header the file follows
    const s = tsharkFollow(file, 'tcp.port == 1272');
    const both = [s.c, s.s].find((b) => b.length >= 12008 + 256 && b.includes(Buffer.from('PK\x03\x04', 'latin1')))!;
    const start = both.indexOf(Buffer.from('PK\x03\x04', 'latin1'));
    const oracle = both.subarray(start, start + 12008);
    assert.equal(f.sha256, crypto.createHash('sha256').update(oracle).digest('hex'));
    const kept = path.join(out, 'quarantine', f.sha256);
    assert.deepEqual(fs.readFileSync(kept), oracle);
    if (spawnSync('python3', ['--version']).status !== 0) return;
    const py = JSON.parse(execFileSync('python3', ['-c', `
import zipfile, sys, json, re
z = zipfile.ZipFile(sys.argv[1])
core = z.read('docProps/core.xml').decode()
m = re.search(r'<dc:creator>([^<]*)</dc:creator>', core)
print(json.dumps({'n': len(z.namelist()), 'names': z.namelist()[:20], 'creator': m.group(1) if m else None}))`, kept], { encoding: 'utf8' }));
    assert.equal(f.file_info.members, py.n);
    assert.deepEqual(f.file_info.member_names, py.names);
    assert.equal(f.file_info.creator, py.creator);
  });

  it('irc-dcc-send: ssh.trace is 1320211 bytes (the offer), complete, and a pcap capture by its magic — capinfos reads the kept copy', function () {
    const file = path.join(PCAPS_DIR, 'im/irc-dcc-send.pcapng');
    const { events, out } = analyzed('im/irc-dcc-send.pcapng');
    const offer = events.find((e) => e.type === 'file_transfer' && e.stage === 'offer');
    const f = events.find((e) => e.type === 'file_transfer' && e.stage === 'data' && e.filename === 'ssh.trace');
    assert.ok(f, 'carved');
    assert.equal(offer.size, 1320211);
    assert.equal(f.observed_size, 1320211);
    assert.equal(f.complete, true);
    assert.equal(f.file_type, 'pcap');
    const s = tsharkFollow(file, 'tcp.port == 59130');
    const oracle = [s.c, s.s].find((b) => b.length === 1320211)!;
    assert.ok(oracle, 'tshark follow yields the file');
    assert.equal(f.sha256, crypto.createHash('sha256').update(oracle).digest('hex'));
    const kept = path.join(out, 'quarantine', f.sha256);
    const info = spawnSync('capinfos', ['-t', kept], { encoding: 'utf8' });
    assert.equal(info.status, 0, info.stderr);
    assert.match(info.stdout, /File type:\s+Wireshark\/tcpdump\/... - pcap/);
  });

  // docs/analyzer.md: with both ends home, `direction` is the data flow's client's view — these two LAN
  // transfers have the receiver connect to the sender, so the offer is outbound and the data inbound,
  // and the data's local user (the one unauthorized_im names) is the receiver on the connecting host
  for (const [name, filter, receiver] of [['im/aim-puzzle1-filetransfer.pcap', 'tcp.port == 1272', 'Sec558user1'], ['im/irc-dcc-send.pcapng', 'tcp.port == 59130', 'tim1']]) {
    it(`${name}: the direct transfer's data is inbound to the host that connected (tshark: its SYN and the file's way)`, function () {
      const file = path.join(PCAPS_DIR, name);
      const syn = execFileSync('tshark', ['-r', file, '-Y', `${filter} && tcp.flags.syn == 1 && tcp.flags.ack == 0`, '-T', 'fields', '-e', 'ip.src', '-e', 'ip.dst'], quiet).trim().split('\n')[0].split('\t');
      const s = tsharkFollow(file, filter);
      assert.ok(s.s.length > 10 * s.c.length, 'the file flows from the listening side to the connecting one');
      const { events } = analyzed(name);
      const offer = events.find((e) => e.type === 'file_transfer' && e.stage === 'offer');
      const data = events.find((e) => e.type === 'file_transfer' && e.stage === 'data');
      assert.equal(offer.direction, 'outbound');
      assert.equal(data.direction, 'inbound');
      assert.equal(data.to, receiver);
      assert.deepEqual([data.client.ip, data.server.ip], syn);
      const alert = events.find((e) => e.type === 'alert' && e.kind === 'unauthorized_im' && e.flow_id === data.flow_id);
      assert.ok(alert, 'unauthorized_im for the data flow');
      assert.equal(alert.client.ip, syn[0]);
      assert.match(alert.summary, new RegExp(`by ${syn[0].replace(/\./g, '\\.')} as ${receiver} `));
    });
  }
});
