// A capture's claimed original length is not trusted past what any link delivers: one pcap record or
// pcapng block claiming 4 GiB made the summary, the stats event and the IM session say 4.00 GiB. Such a
// frame (over 262144 bytes, libpcap's largest snapshot length) is counted as the bytes captured and
// named in the summary; a frame cut by a snapshot length still counts its length on the wire.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture, pcapngOf } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';
import { haveTshark } from '../helpers/tshark';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-origlen-'));

function irc(): Capture {
  const c = new Capture();
  const t = c.tcp('10.0.0.5:40001', '192.0.2.10:6667');
  t.open().send('c', 'NICK alice\r\nUSER alice 0 * :Alice\r\n').send('s', ':irc.example.net 001 alice :Welcome to IRC alice\r\n');
  t.send('c', 'PRIVMSG #chan :hello\r\n');
  t.close();
  return c;
}

/** classic pcap with the original length of record `n` set to `orig` */
function pcapWithOrig(c: Capture, n: number, orig: number): Buffer {
  const b = c.pcap();
  let off = 24;
  for (let i = 0; i < n; i++) off += 16 + b.readUInt32LE(off + 8);
  b.writeUInt32LE(orig >>> 0, off + 12);
  return b;
}

function run(name: string, data: Buffer) {
  const file = path.join(tmp, name);
  fs.writeFileSync(file, data);
  const r = shadowim(['analyze', file, '--format', 'jsonl']);
  assert.equal(r.status, 0, r.stderr);
  const stats = r.events.find((e) => e.type === 'stats');
  const session = r.events.find((e) => e.type === 'session' && e.protocol === 'irc');
  return { r, stats, session };
}

describe('sensor: a forged original length', function () {
  this.timeout(60_000);
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const c = irc();
  const wire = c.frames.reduce((n, f) => n + f.data.length, 0);

  it('pcap record claiming 4 GiB: counted as captured, named in the summary, the session is not 4 GiB', () => {
    const honest = run('honest.pcap', c.pcap());
    assert.equal(honest.stats.bytes, wire);
    const { r, stats, session } = run('forged.pcap', pcapWithOrig(c, 4, 0xffffffff));
    assert.equal(stats.bytes, wire);
    assert.equal(stats.packets, c.frames.length);
    assert.match(r.stderr, /, 1 with impossible original lengths, /);
    assert.doesNotMatch(r.stderr, /GiB/);
    assert.ok(session, 'the IRC session is still reported');
    assert.equal(session.bytes, honest.session.bytes);
  });

  it('pcapng enhanced and simple packet blocks claiming 4 GiB, with one or two threads', () => {
    const frames = c.frames.map((f, i) => (i === 3 ? { ...f, origLen: 0xffffffff } : f));
    for (const threads of ['1', '2']) {
      const epb = path.join(tmp, 'forged-epb.pcapng');
      fs.writeFileSync(epb, pcapngOf(frames));
      const e = shadowim(['analyze', epb, '--format', 'jsonl', '--threads', threads]);
      assert.equal(e.status, 0, e.stderr);
      assert.equal(e.events.find((x) => x.type === 'stats').bytes, wire, `EPB, --threads ${threads}`);
      assert.match(e.stderr, /, 1 with impossible original lengths, /);
    }
    // a simple packet block's length field is its original length: forge the fifth one's
    const spb = pcapngOf(c.frames, { simple: true });
    let off = 0;
    let seen = 0;
    while (off < spb.length) {
      const type = spb.readUInt32LE(off);
      const len = spb.readUInt32LE(off + 4);
      if (type === 3 && seen++ === 4) spb.writeUInt32LE(0xffffffff, off + 8);
      off += len;
    }
    const s = run('forged-spb.pcapng', spb);
    assert.ok(s.stats.bytes < wire + 8 && s.stats.bytes >= wire, `SPB bytes ${s.stats.bytes} (the captured block, padding included)`);
    assert.match(s.r.stderr, /, 1 with impossible original lengths, /);
  });

  it('a frame cut by the snapshot length still counts its length on the wire', () => {
    const { r, stats } = run('snap.pcap', irc().pcap({ snaplen: 60 }));
    assert.equal(stats.bytes, wire);
    assert.doesNotMatch(r.stderr, /impossible original lengths/);
  });

  it('frames cut by the snapshot length are named as such, with what to do — not called malformed (payload cut at 60 bytes, TCP header cut at 40)', () => {
    for (const snaplen of [60, 40]) {
      const { r, stats } = run(`snap${snaplen}.pcap`, irc().pcap({ snaplen }));
      // the frames the snaplen cut (captured length under the length on the wire), as tshark counts them
      let cut = irc().frames.filter((f) => f.data.length > snaplen).length;
      if (haveTshark) {
        const t = spawnSync('tshark', ['-r', path.join(tmp, `snap${snaplen}.pcap`), '-Y', 'frame.cap_len < frame.len', '-T', 'fields', '-e', 'frame.number'], { encoding: 'utf8' });
        cut = t.stdout.split('\n').filter(Boolean).length;
      }
      assert.ok(cut > 0);
      assert.equal(stats.snapped, cut);
      assert.equal(stats.malformed, 0);
      assert.match(r.stderr, new RegExp(`, 0 malformed, ${cut} cut by the capture's snapshot length \\(their payload is missing; capture with tcpdump -s 0 to read it\\), `));
    }
    const whole = run('snapfull.pcap', irc().pcap());
    assert.equal(whole.stats.snapped, undefined, 'absent when nothing was cut');
    assert.doesNotMatch(whole.r.stderr, /snapshot length/);
  });
});
