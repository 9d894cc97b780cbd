// The Suricata export as Suricata reads it: a long address list is split over rules that suricata -T
// accepts (one line was cut into fragments past 8 KiB), and suricata -r on a capture shows which flows
// the rules catch — a sanctioned name and an exception's sources are passed by every kind of rule
// (TLS SNI, payload, address), not by the address rules only.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FORMATS } from '../../outputs/firewall/formats';
import { buildModel } from '../../outputs/firewall/model';
import { loadRegistry } from '../../signatures/registry';
import { exportCheck } from '../helpers/fwTools';
import { Capture } from '../helpers/pcapgen';
import { tlsClientHello } from '../helpers/tlsWire';

const suri = exportCheck('suricata')!;
/** skips the test, its title saying why */
function skip(ctx: Mocha.Context): void {
  ctx.test!.title += ' (skipped: suricata or /etc/suricata/suricata.yaml is not installed here)';
  ctx.skip();
}
const render = (m: ReturnType<typeof buildModel>) => FORMATS.find((f) => f.id === 'suricata')!.render(m);

/** n observed XMPP servers, 198.18.x.y */
const observed = (n: number) => Array.from({ length: n }, (_, i) => ({ protocol: 'xmpp', ip: `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${(i % 254) + 1}`, port: 5222 }));
const v6 = (n: number) => Array.from({ length: n }, (_, i) => ({ protocol: 'xmpp', ip: `2001:db8:${(i * 7919).toString(16)}:ffff:ffff:ffff:ffff:${i.toString(16)}`, port: 5222 }));

function model(n: number, extra: object[] = []) {
  return buildModel({
    registry: loadRegistry(), forbidden: ['slack', 'xmpp'], action: 'log', now: new Date('2026-01-01T00:00:00Z'),
    observed: [...observed(n), ...(extra as any[])],
    exceptions: [{ sources: ['10.20.0.0/16'], protocols: ['xmpp'], reason: 'engineering may use xmpp' }],
    sanctioned: ['acme.slack.com', '192.0.2.50'],
  });
}

describe('Suricata export read by Suricata', function () {
  this.timeout(180000);
  let tmp: string;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-suri-'))));
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('600 IPv4 and 300 IPv6 servers: every rule line under 8 KiB, each address in one rule, distinct sids; suricata -T accepts it', function () {
    const m = model(600, v6(300));
    const text = render(m);
    const rules = text.split('\n').filter((l) => l && !l.startsWith('#'));
    for (const l of rules) assert.ok(Buffer.byteLength(l) < 8192, `a rule of ${Buffer.byteLength(l)} bytes`);
    const sids = rules.map((l) => /sid:(\d+);/.exec(l)![1]);
    assert.equal(new Set(sids).size, sids.length, 'sids are distinct');
    const blocked = rules.filter((l) => /server address"/.test(l)).flatMap((l) => /-> \[([^\]]+)\]/.exec(l)![1].split(','));
    assert.deepEqual(blocked.sort(), m.targets.flatMap((t) => t.cidrs.map((c) => c.text)).sort());
    if (!suri.ready) return skip(this);
    const file = path.join(tmp, 'many.rules');
    fs.writeFileSync(file, text);
    suri.check(file);
  });

  it('suricata -r: a sanctioned name and an exception pass; the same traffic from elsewhere is caught', function () {
    if (!suri.ready) return skip(this);
    const m = model(600);
    const last = observed(600).at(-1)!.ip;
    const xmpp = "<?xml version='1.0'?><stream:stream to='example.net' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
    const c = new Capture();
    const flow = (from: string, to: string, data?: Buffer | string) => {
      const t = c.tcp(from, to).open();
      t.send('c', data ?? 'hello');
      t.close();
    };
    flow('192.168.1.10:40001', '203.0.113.80:443', tlsClientHello({ sni: 'acme.slack.com' })); // sanctioned
    flow('192.168.1.12:40002', '203.0.113.82:443', tlsClientHello({ sni: 'other.slack.com' })); // not
    flow('10.20.1.5:40003', '203.0.113.77:5222', xmpp); // exception: engineering may use XMPP
    flow('192.168.1.11:40004', '203.0.113.81:5222', xmpp); // not excepted
    flow('192.168.1.13:40005', `${last}:5222`); // the last observed server: in the last split rule
    flow('10.20.1.6:40006', `${last}:5222`); // excepted
    const pcap = path.join(tmp, 'flows.pcap');
    fs.writeFileSync(pcap, c.pcap());
    const rules = path.join(tmp, 'export.rules');
    fs.writeFileSync(rules, render(m));
    const log = fs.mkdtempSync(path.join(tmp, 'log-'));
    const r = spawnSync('suricata', ['-c', '/etc/suricata/suricata.yaml', '-k', 'none', '-S', rules, '-r', pcap, '-l', log], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const caught = fs.readFileSync(path.join(log, 'fast.log'), 'utf8').split('\n').filter(Boolean)
      .map((l) => `${/\{TCP\} (\S+?):\d+ ->/.exec(l)![1]} ${/\] (shadowim [^[]+?) \[\*\*\]/.exec(l)![1]}`);
    assert.deepEqual([...new Set(caught)].sort(), [
      '192.168.1.11 shadowim XMPP client stream',
      '192.168.1.12 shadowim slack TLS SNI slack.com',
      '192.168.1.13 shadowim xmpp-jabber server address',
    ]);
  });
});
