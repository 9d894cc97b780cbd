// DNS exports (rules --format rpz|unbound): checked by the real tools (named-checkzone, unbound-checkconf)
// and enforced by a real Unbound on loopback, asked by a DNS client from two source addresses: one in an
// authorized group, one not. Nothing on this machine can resolve the outside world, so a name that is
// let through fails to resolve (SERVFAIL) while a blocked one is refused locally (NXDOMAIN): the rcode
// tells which rule answered.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shadowim } from '../helpers/run';
import { haveCommand } from '../helpers/netns';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-dns-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const POLICY = [
  'version: 1',
  'groups:',
  '  support:',
  '    networks: [127.0.0.2/32]',
  '    allow:',
  '      - protocols: [whatsapp]',
  'sanctioned_servers: [teams.corp.example, .chat.corp.example, 198.51.100.44]',
  '',
].join('\n');

/** one A query for `name` from `source`; resolves with the response code (3 = NXDOMAIN, 2 = SERVFAIL) */
function query(port: number, name: string, source: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const id = Math.floor(Math.random() * 65535);
    const q = Buffer.concat([
      Buffer.from([id >> 8, id & 255, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]),
      ...name.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])),
      Buffer.from([0, 0, 1, 0, 1]),
    ]);
    const t = setTimeout(() => (s.close(), reject(new Error(`no answer for ${name} from ${source}`))), 8000);
    s.on('message', (m) => {
      if (m.readUInt16BE(0) !== id) return;
      clearTimeout(t);
      s.close();
      resolve(m[3] & 15);
    });
    s.bind(0, source, () => s.send(q, port, '127.0.0.1'));
  });
}

function startUnbound(conf: string, port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const p = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d) => (err += d));
    p.on('exit', (c) => reject(new Error(`unbound exited (${c}): ${err}`)));
    // ready when it answers
    const t0 = Date.now();
    const probe = () =>
      query(port, 'probe.invalid', '127.0.0.1').then(() => resolve(p), () => (Date.now() - t0 > 20000 ? reject(new Error(`unbound did not answer: ${err}`)) : setTimeout(probe, 200)));
    setTimeout(probe, 200);
  });
}

function unboundConf(port: number, extra: string, modules = 'iterator'): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'ub-'));
  const conf = path.join(dir, 'unbound.conf');
  fs.writeFileSync(conf, [
    'server:',
    `    interface: 127.0.0.1@${port}`,
    '    access-control: 127.0.0.0/8 allow',
    '    do-daemonize: no',
    '    username: ""',
    '    chroot: ""',
    `    directory: "${dir}"`,
    '    pidfile: ""',
    '    use-syslog: no',
    '    logfile: ""',
    `    module-config: "${modules}"`,
    // nothing outside is reachable here: fail fast instead of retrying the root servers
    '    outgoing-range: 16',
    '    infra-host-ttl: 1',
    '    do-ip6: no',
    extra,
    '',
  ].join('\n'));
  return conf;
}

(haveCommand('named-checkzone') && haveCommand('unbound-checkconf') ? describe : describe.skip)('firewall export: DNS (rpz, unbound)', function () {
  this.timeout(120_000);
  let policy: string;
  before(() => {
    policy = path.join(tmp, 'policy.yaml');
    fs.writeFileSync(policy, POLICY);
  });
  const exportOf = (format: string, action = 'block') => {
    const r = shadowim(['rules', '--format', format, '--action', action, '--policy', policy]);
    assert.equal(r.status, 0, r.stderr);
    const f = path.join(tmp, `${format}-${action}.txt`);
    fs.writeFileSync(f, r.stdout);
    return { file: f, text: r.stdout };
  };

  for (const action of ['block', 'log']) {
    it(`rpz and unbound exports (${action}) pass named-checkzone and unbound-checkconf`, () => {
      const z = exportOf('rpz', action);
      const c = spawnSync('named-checkzone', ['rpz.shadowim', z.file], { encoding: 'utf8' });
      assert.equal(c.status, 0, c.stdout + c.stderr);
      assert.match(z.text, action === 'block' ? /^\*\.whatsapp\.net CNAME \.$/m : /^\*\.whatsapp\.net CNAME rpz-passthru\.$/m);
      assert.match(z.text, /^\*\.chat\.corp\.example CNAME rpz-passthru\.$/m, 'a sanctioned name and its sub-domains');
      assert.match(z.text, /127\.0\.0\.2\/32 may use whatsapp \(group support\): serve those clients from a resolver view/);
      const u = exportOf('unbound', action);
      const k = spawnSync('unbound-checkconf', [u.file], { encoding: 'utf8' });
      assert.equal(k.status, 0, k.stdout + k.stderr);
    });
  }

  it('a sanctioned server that is also a forbidden or observed name is left out of the block: the zone still loads', () => {
    // xmpp.corp.example observed in --events (an xmpp session to it) and sanctioned; xmpp.l.google.com
    // (a built-in xmpp name) under a sanctioned .l.google.com
    const pol = path.join(tmp, 'sanctioned-observed.yaml');
    fs.writeFileSync(pol, 'version: 1\nsanctioned_servers: [xmpp.corp.example, .l.google.com]\n');
    const ev = path.join(tmp, 'observed.jsonl');
    fs.writeFileSync(ev, JSON.stringify({ type: 'session', ts: '2026-01-01T00:00:00Z', start: '2026-01-01T00:00:00Z', protocol: 'xmpp', flow_id: 'f1', client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '203.0.113.5', port: 5222 }, server_name: 'xmpp.corp.example', users: [], encrypted: true }) + '\n');
    for (const format of ['rpz', 'unbound']) {
      const r = shadowim(['rules', '--format', format, '--policy', pol, '--events', ev]);
      assert.equal(r.status, 0, r.stderr);
      const f = path.join(tmp, `sanctioned-observed.${format}`);
      fs.writeFileSync(f, r.stdout);
      const c = format === 'rpz' ? spawnSync('named-checkzone', ['rpz.shadowim', f], { encoding: 'utf8' }) : spawnSync('unbound-checkconf', [f], { encoding: 'utf8' });
      assert.equal(c.status, 0, c.stdout + c.stderr);
      assert.doesNotMatch(c.stdout + c.stderr, /duplicate/);
      assert.doesNotMatch(r.stdout, /^(    local-zone: ")?xmpp\.corp\.example\.?"? (CNAME \.|always_nxdomain)/m);
      assert.doesNotMatch(r.stdout, /xmpp\.l\.google\.com\.?"? (CNAME \.|always_nxdomain)/, 'inside a sanctioned domain');
      assert.match(r.stdout, /talk\.google\.com\.?"? (CNAME \.|always_nxdomain)/, 'other xmpp names still blocked');
      if (format === 'rpz') assert.match(r.stdout, /^\*\.xmpp\.corp\.example CNAME \.$/m, 'sanctioned exactly: its sub-domains are not');
      else assert.match(r.stdout, /sub-domains also resolve here .*: xmpp\.corp\.example$/m, 'what Unbound cannot keep exact is said');
    }
  });

  for (const action of ['block', 'log']) {
    (haveCommand('unbound') ? it : it.skip)(`a real Unbound with the unbound export (${action}): forbidden names ${action === 'block' ? 'NXDOMAIN' : 'still resolved'}, sanctioned names inside them resolved, other names untouched`, async () => {
      const port = 20000 + (process.pid % 20000) + (action === 'log' ? 2 : 0);
      fs.writeFileSync(policy, POLICY.replace('teams.corp.example', 'corp.teams.microsoft.com'));
      const u = exportOf('unbound', action);
      fs.writeFileSync(policy, POLICY);
      const ub = await startUnbound(unboundConf(port, `include: "${u.file}"`), port);
      try {
        const blocked = (rcode: number, what?: string) => (action === 'block' ? assert.equal(rcode, 3, what) : assert.notEqual(rcode, 3, what));
        blocked(await query(port, 'web.whatsapp.net', '127.0.0.1'), 'a sub-domain of a forbidden name');
        blocked(await query(port, 'discord.com', '127.0.0.1'));
        blocked(await query(port, 'teams.microsoft.com', '127.0.0.1'));
        assert.notEqual(await query(port, 'corp.teams.microsoft.com', '127.0.0.1'), 3, 'sanctioned (let through: SERVFAIL without Internet)');
        assert.notEqual(await query(port, 'example.org', '127.0.0.1'), 3, 'other names are not touched');
      } finally {
        ub.removeAllListeners('exit');
        ub.kill('SIGTERM');
      }
    });
  }

  (haveCommand('unbound') ? it : it.skip)('a real Unbound loading the RPZ: forbidden names and their sub-domains NXDOMAIN, sanctioned names inside them resolve', async () => {
    const port = 20001 + (process.pid % 20000);
    // a sanctioned name inside a forbidden domain: teams.microsoft.com is forbidden (teams), a tenant's
    // own name under it is sanctioned through the policy
    fs.writeFileSync(policy, POLICY.replace('teams.corp.example', 'corp.teams.microsoft.com, .emea.teams.microsoft.com'));
    const z = exportOf('rpz');
    const ub = await startUnbound(unboundConf(port, `rpz:\n    name: rpz.shadowim\n    zonefile: "${z.file}"`, 'respip iterator'), port);
    try {
      assert.equal(await query(port, 'teams.microsoft.com', '127.0.0.1'), 3);
      assert.equal(await query(port, 'eu.teams.microsoft.com', '127.0.0.1'), 3, 'sub-domains too');
      assert.notEqual(await query(port, 'corp.teams.microsoft.com', '127.0.0.1'), 3, 'the sanctioned name is passed through');
      assert.equal(await query(port, 'x.corp.teams.microsoft.com', '127.0.0.1'), 3, 'sanctioned exactly (no leading dot): its sub-domains stay forbidden');
      assert.notEqual(await query(port, 'emea.teams.microsoft.com', '127.0.0.1'), 3, 'sanctioned with a leading dot: the name…');
      assert.notEqual(await query(port, 'x.emea.teams.microsoft.com', '127.0.0.1'), 3, '…and its sub-domains');
      assert.notEqual(await query(port, 'example.org', '127.0.0.1'), 3);
    } finally {
      ub.removeAllListeners('exit');
      ub.kill('SIGTERM');
      fs.writeFileSync(policy, POLICY);
    }
  });
});

describe('rules rpz/unbound: an exact sanctioned name inside a sub-domain-sanctioned one', () => {
  it('is not named again as a wildcard block (x.chat.corp.example stays sanctioned through .corp.example)', () => {
    const { dnsRpz, dnsUnbound } = require('../../outputs/firewall/formats/dns') as typeof import('../../outputs/firewall/formats/dns');
    const target = { protocol: 'xmpp', name: 'XMPP', cidrs: [], hosts: ['corp.example'], ports: { tcp: [], udp: [] }, paloalto: [], suricata: [], observed: 0 };
    const model = {
      action: 'block' as const, targets: [target], exceptions: [], sanctioned: [], generatedAt: '2026-11-26T00:00:00.000Z',
      sanctionedHosts: [{ name: 'chat.corp.example', subdomains: false }, { name: 'corp.example', subdomains: true }],
    };
    const rpz = dnsRpz.render(model);
    assert.doesNotMatch(rpz, /^\*\.chat\.corp\.example CNAME \.$/m, rpz);
    assert.match(rpz, /^\*\.corp\.example CNAME rpz-passthru\.$/m);
    // and an exact name alone still has its sub-domains blocked
    const alone = dnsRpz.render({ ...model, sanctionedHosts: [{ name: 'chat.corp.example', subdomains: false }] });
    assert.match(alone, /^\*\.chat\.corp\.example CNAME \.$/m);
    assert.doesNotMatch(dnsUnbound.render(model), /sub-domains also resolve here/);
  });
});

describe('rules rpz: an observed name too long to be a trigger in the zone', () => {
  it('is left out and said so, and the zone still loads (the unbound export keeps it)', () => {
    // found by firewall-fuzz: a valid 250-character server name made BIND refuse the whole zone ("ran out of space")
    const long = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(50), 'example'].join('.');
    const fits = `${'e'.repeat(63)}.${'f'.repeat(63)}.${'g'.repeat(63)}.${'h'.repeat(43)}.im`; // 238: the longest that fits
    const ev = path.join(tmp, 'long-name.jsonl');
    fs.writeFileSync(ev, [long, fits].map((n, i) => JSON.stringify({ type: 'session', protocol: 'xmpp', server: { ip: `203.0.113.${i + 1}`, port: 5222 }, server_name: n })).join('\n') + '\n');
    const r = shadowim(['rules', '--format', 'rpz', '--events', ev]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(r.stdout, new RegExp(`^(\\*\\.)?${long} CNAME`, 'm'));
    assert.match(r.stdout, new RegExp(`^; left out, longer than the 238 characters .*: ${long}$`, 'm'));
    assert.match(r.stdout, new RegExp(`^\\*\\.${fits} CNAME \\.$`, 'm'));
    if (haveCommand('named-checkzone')) {
      const f = path.join(tmp, 'long-name.rpz');
      fs.writeFileSync(f, r.stdout);
      const c = spawnSync('named-checkzone', ['rpz.shadowim', f], { encoding: 'utf8' });
      assert.equal(c.status, 0, c.stdout + c.stderr);
    }
    const u = shadowim(['rules', '--format', 'unbound', '--events', ev]);
    assert.match(u.stdout, new RegExp(`local-zone: "${long}\\." always_nxdomain`));
  });
});
