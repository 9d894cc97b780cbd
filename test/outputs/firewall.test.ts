// Firewall export: every format validated by the real tool where it exists here (iptables-restore
// --test, ip6tables-restore --test, nft -c, suricata -T); exceptions come before denies; values that
// came from traffic cannot inject rule syntax.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildModel } from '../../outputs/firewall/model';
import { FORMATS } from '../../outputs/firewall/formats';
import { buildRuleInput } from '../../outputs/firewall/inputs';
import { loadRegistry } from '../../signatures/registry';
import { boundedIt } from '../helpers/bounded';
import { exportCheck } from '../helpers/fwTools';
import { shadowim } from '../helpers/run';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-fw-'));

// servers "observed" in traffic, including hostile names and addresses
const HOSTILE_EVENTS = [
  { type: 'session', protocol: 'xmpp', transport: 'tcp', server: { ip: '203.0.113.9', port: 5222 }, server_name: 'chat.example.org' },
  { type: 'session', protocol: 'irc', transport: 'tcp', server: { ip: '198.51.100.20', port: 6667 }, server_name: 'evil.example"; drop all; #' },
  { type: 'session', protocol: 'irc', transport: 'tcp', server: { ip: '1.2.3.4 -j ACCEPT', port: 6667 }, server_name: 'x.example\n-A INPUT -j ACCEPT' },
  { type: 'session', protocol: 'aim', transport: 'tcp', server: { ip: '2001:db8::7', port: 443 }, server_name: 'a.example}; table ip x {' },
  { type: 'session', protocol: 'not a protocol; rm -rf /', transport: 'tcp', server: { ip: '192.0.2.1', port: 1 } },
  // an XMPP domain that is an address (xmpp-jabber.pcap's 192.168.58.153): an address rule, no name rule
  { type: 'session', protocol: 'xmpp', transport: 'tcp', server: { ip: '192.168.58.153', port: 5222 }, server_name: '192.168.58.153' },
];

function model(action: 'block' | 'log' = 'block') {
  return buildModel({
    registry: loadRegistry(),
    action,
    now: new Date('2026-01-01T00:00:00Z'),
    observed: HOSTILE_EVENTS.map((e) => ({ protocol: e.protocol, ip: e.server.ip, port: e.server.port, transport: e.transport, server_name: e.server_name })),
    exceptions: [{ sources: ['10.20.0.0/16', 'fd00:20::/48'], protocols: ['xmpp'], reason: 'engineering may use xmpp' }],
    sanctioned: ['192.0.2.50', '2001:db8:50::/48'],
  });
}

const ipt = exportCheck('iptables')!;
const ip6t = exportCheck('ip6tables')!;
const nft = exportCheck('nftables')!;
const suri = exportCheck('suricata')!;

describe('firewall export', () => {
  for (const action of ['block', 'log'] as const) {
    describe(`action ${action}`, () => {
      const m = model(action);
      const out = (id: string) => {
        const f = FORMATS.find((x) => x.id === id)!;
        const file = path.join(tmp, `${id}-${action}.txt`);
        fs.writeFileSync(file, f.render(m));
        return file;
      };

      (ipt.ready ? it : it.skip)('iptables export passes iptables-restore --test', () => ipt.check(out('iptables')));
      (ip6t.ready ? it : it.skip)('ip6tables export passes ip6tables-restore --test', () => ip6t.check(out('ip6tables')));
      (nft.ready ? it : it.skip)('nftables export passes nft -c -f', () => nft.check(out('nftables')));
      (suri.ready ? it : it.skip)('suricata export passes suricata -T', function () {
        this.timeout(120000);
        suri.check(out('suricata'));
      });
    });
  }

  it('puts sanctioned servers and authorized groups before any deny, in every format', () => {
    const m = model();
    const markers: Record<string, [RegExp, RegExp]> = {
      iptables: [/-s 10\.20\.0\.0\/16 .*-j RETURN/, /-j DROP/],
      nftables: [/saddr @exception0_v4 .* accept/, / drop /],
      pf: [/pass out quick from <shadowim_exception0>/, /^block /m],
      'cisco-asa': [/permit .*SHADOWIM-EXCEPTION0/, / deny /],
      'cisco-ios': [/permit ip 10\.20\.0\.0 0\.0\.255\.255/, / deny /],
      paloalto: [/shadowim-exception-0/, /action deny/],
      suricata: [/^pass ip \[10\.20\.0\.0\/16/m, /^drop /m],
    };
    for (const [id, [allow, deny]] of Object.entries(markers)) {
      const text = FORMATS.find((f) => f.id === id)!.render(m);
      const a = text.search(allow);
      const d = text.search(deny);
      assert.ok(a >= 0, `${id}: no exception rule`);
      assert.ok(d >= 0, `${id}: no deny rule`);
      assert.ok(a < d, `${id}: the exception comes after a deny`);
    }
  });

  it('marks port-only rules as such and never blocks 80 or 443 by port', () => {
    for (const f of FORMATS) {
      const text = f.render(model());
      assert.match(text, /IM falls back to 80\/443/);
      assert.doesNotMatch(text, /dports? (\{ )?(80|443)\b|eq (80|443)\b|port \{ (80|443) \}|RemotePort @\((80|443)\)/, f.id);
    }
  });

  it('an address given as a server name gets its address rule and no host-name rule (RPZ, unbound, Suricata)', () => {
    const m = model();
    for (const id of ['rpz', 'unbound', 'suricata']) {
      const text = FORMATS.find((x) => x.id === id)!.render(m);
      assert.match(text, /chat\.example\.org/, `${id}: names are exported`);
      assert.doesNotMatch(text, /192\.168\.58\.153\.?"?\s*(CNAME|always_nxdomain)|"\.?192\.168\.58\.153"|dns\.query; content:"192|tls\.sni; content:"\.?192/, `${id}: no name rule for an address`);
    }
    const ipt = FORMATS.find((x) => x.id === 'iptables')!.render(m);
    assert.match(ipt, /192\.168\.58\.153/, 'the address rule is there');
  });

  it('lets no value from traffic inject rule syntax', () => {
    for (const f of FORMATS) {
      const text = f.render(model());
      for (const bad of ['drop all', '-A INPUT', '-j ACCEPT', 'table ip x', 'rm -rf', 'evil.example', '1.2.3.4']) {
        assert.ok(!text.includes(bad), `${f.id} contains "${bad}"`);
      }
    }
    const suri = FORMATS.find((f) => f.id === 'suricata')!.render(model());
    assert.match(suri, /chat\.example\.org/, 'a well-formed observed host name is used');
    assert.match(FORMATS.find((f) => f.id === 'nftables')!.render(model()), /203\.0\.113\.9/, 'a well-formed observed address is used');
  });

  it('the command line writes a validated export from observed sessions', function () {
    if (!nft.ready) this.skip();
    const ev = path.join(tmp, 'events.jsonl');
    fs.writeFileSync(ev, HOSTILE_EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const file = path.join(tmp, 'cli.nft');
    const r = shadowim(['rules', '--format', 'nftables', '--events', ev, '--out', file]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(fs.readFileSync(file, 'utf8'), /203\.0\.113\.9/);
    nft.check(file);
  });

  it('an observed server address written as a block is left out: 203.0.113.7/0 in --events does not block every destination', () => {
    // found by firewall-fuzz: the address of a session went through the policy's CIDR parser, so /0 became 0.0.0.0/0
    const ev = path.join(tmp, 'block-as-server.jsonl');
    const servers = ['203.0.113.7/0', '203.0.113.8/24', '2001:db8:77::1/64', '203.0.113.9'];
    fs.writeFileSync(ev, servers.map((ip) => JSON.stringify({ type: 'session', protocol: 'irc', server: { ip, port: 6667 } })).join('\n') + '\n');
    for (const format of ['iptables', 'ip6tables', 'nftables', 'suricata']) {
      const r = shadowim(['rules', '--format', format, '--events', ev]);
      assert.equal(r.status, 0, r.stderr);
      assert.doesNotMatch(r.stdout, /0\.0\.0\.0\/0|203\.0\.113\.[078]\b|2001:db8:77:/, `${format}: only the plain address is a server`);
      if (format !== 'ip6tables') assert.match(r.stdout, /203\.0\.113\.9\/32/, `${format}: the plain address is kept`);
    }
  });

  it('an observed server that cannot be one (broadcast, multicast, loopback, link-local, unspecified) makes no rule', () => {
    // a spoofed session "to" 255.255.255.255 made every format block it: DHCP and multicast cut, not an IM service
    const ev = path.join(tmp, 'special-servers.jsonl');
    const special = ['255.255.255.255', '224.0.1.75', '239.255.255.250', '127.0.0.1', '0.0.0.0', '0.1.2.3', '169.254.10.20', '240.0.0.1',
      '::', '::1', 'ff02::1', 'FF05::1:3', 'fe80::1', '::ffff:255.255.255.255'];
    const normal = ['203.0.113.9', '2001:db8::9'];
    fs.writeFileSync(ev, [...special, ...normal].map((ip) => JSON.stringify({ type: 'session', protocol: 'sip', transport: 'udp', server: { ip, port: 5060 } })).join('\n') + '\n');
    for (const format of ['iptables', 'ip6tables', 'nftables', 'pf', 'cisco-asa', 'cisco-ios', 'windows', 'paloalto', 'suricata']) {
      const r = shadowim(['rules', '--format', format, '--events', ev]);
      assert.equal(r.status, 0, r.stderr);
      const body = r.stdout.split('\n').filter((l) => !/^\s*[#!]/.test(l)).join('\n');
      assert.doesNotMatch(body, /255\.255\.255\.255|224\.0\.1\.75|239\.255|127\.0\.0\.1|0\.0\.0\.0\/32|0\.1\.2\.3|169\.254\.10|240\.0\.0\.1|ff02::1|ff05::1:3|fe80::1|(^|[^:0-9a-f])::1?(\/128)?([^:0-9a-f]|$)/im, `${format}: no rule for an address that is no server`);
      if (format !== 'ip6tables') assert.match(body, /203\.0\.113\.9/, `${format}: an ordinary IPv4 server is kept`);
      if (format !== 'iptables') assert.match(body, /2001:db8::9/, `${format}: an ordinary IPv6 server is kept`);
    }
  });

  it('the Palo Alto export denies no App-ID that is all of SIP: phones\' calls are not IM', () => {
    const r = shadowim(['rules', '--format', 'paloalto']);
    assert.equal(r.status, 0, r.stderr);
    const apps = /application \[([^\]]*)\]/.exec(r.stdout)?.[1].trim().split(/\s+/) ?? [];
    assert.ok(apps.includes('jabber') && apps.includes('irc-base'), 'the IM App-IDs are there');
    assert.ok(!apps.includes('sip'), 'no sip App-ID');
  });

  it('writes an observed IPv6 server once, as RFC 5952 spells it, and an IPv4-mapped one as its IPv4 address', () => {
    // was: 2001:DB8:0:0::7 and 2001:db8::7 two rules, ::ffff:203.0.113.70 an IPv6 rule that never matches
    const ev = path.join(tmp, 'v6-spellings.jsonl');
    const servers = ['2001:DB8:0:0::7', '2001:db8::7', '2001:0db8:0000:0000:0000:0000:0000:0007', ' 2001:db8:0::7 ', '::ffff:203.0.113.70', '::FFFF:CB00:7146', '203.0.113.70'];
    fs.writeFileSync(ev, servers.map((ip) => JSON.stringify({ type: 'session', protocol: 'irc', server: { ip, port: 6667 } })).join('\n') + '\n');
    for (const format of ['iptables', 'ip6tables', 'nftables', 'pf', 'cisco-asa', 'cisco-ios', 'windows', 'paloalto', 'suricata']) {
      const r = shadowim(['rules', '--format', format, '--action', 'log', '--events', ev]);
      assert.equal(r.status, 0, r.stderr);
      const tokens = r.stdout.split('\n').filter((l) => !/^[#!]/.test(l)).join(' ').split(/[\s[\],{}'"()@;]+/).map((t) => t.replace(/\/(32|128)$/, ''));
      const count = (a: string) => tokens.filter((t) => t === a).length;
      if (format !== 'iptables') assert.equal(count('2001:db8::7'), 1, `${format}: one rule for 2001:db8::7`);
      if (format !== 'ip6tables') assert.equal(count('203.0.113.70'), 1, `${format}: one rule for 203.0.113.70`);
      assert.doesNotMatch(r.stdout, /2001:0?DB8:0|2001:0db8|ffff:|cb00/i, `${format}: no other spelling`);
    }
  });

  it('writes an observed name once, lower case and without the trailing dot, however the session spelled it', () => {
    // was: chat.example.org. (the absolute spelling) refused, so a name seen only so was not blocked at all
    const ev = path.join(tmp, 'name-spellings.jsonl');
    const names = ['Chat.Example.ORG', 'chat.example.org.', 'chat.example.org', ' CHAT.example.org. ', 'only-dot.example.net.', 'two-dots.example.net..'];
    fs.writeFileSync(ev, names.map((server_name, i) => JSON.stringify({ type: 'session', protocol: 'xmpp', server: { ip: `203.0.113.${i + 1}`, port: 5222 }, server_name })).join('\n') + '\n');
    const expect: Record<string, [(n: string) => string, number]> = {
      rpz: [(n) => `\n${n} CNAME .\n`, 1],
      unbound: [(n) => `local-zone: "${n}." always_nxdomain`, 1],
      suricata: [(n) => `content:".${n}";`, 3], // TLS SNI, DNS query, HTTP Host
    };
    for (const [format, [rule, times]] of Object.entries(expect)) {
      const r = shadowim(['rules', '--format', format, '--events', ev]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.split(rule('chat.example.org')).length - 1, times, `${format}: chat.example.org once`);
      assert.equal(r.stdout.split(rule('only-dot.example.net')).length - 1, times, `${format}: a name seen only with its trailing dot is blocked`);
      assert.doesNotMatch(r.stdout, /two-dots|Chat\.|CHAT|org\.\.|org\. CNAME|content:"\.[^"]*\."/, `${format}: no other spelling, no empty label`);
    }
  });

  it('takes exceptions and sanctioned servers from a policy file, and the result validates', function () {
    const policy = path.join(tmp, 'policy.yaml');
    fs.writeFileSync(policy, [
      'version: 1',
      'groups:',
      '  devs:',
      '    networks: [10.77.0.0/16]',
      '    allow:',
      '      - protocols: [xmpp]',
      '  nobody-by-address:',
      '    users: [someone@example.com]',
      '    allow:',
      '      - protocols: any',
      'sanctioned_servers: [198.51.100.44, chat.corp.example]',
      '',
    ].join('\n'));
    const r = shadowim(['rules', '--format', 'iptables', '--policy', policy]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /-s 10\.77\.0\.0\/16 -p tcp -m multiport --dports 5222,5223,5269 .*-j RETURN/);
    assert.match(r.stdout, /-d 198\.51\.100\.44\/32 .*sanctioned server.* -j RETURN/);
    assert.doesNotMatch(r.stdout, /-s 10\.77\.0\.0\/16 .*--dports 6660/, 'devs are allowed xmpp only');
    assert.ok(r.stdout.indexOf('RETURN') < r.stdout.indexOf('-j DROP'));
    if (ipt.ready) {
      const f = path.join(tmp, 'policy.ipt');
      fs.writeFileSync(f, r.stdout);
      ipt.check(f);
    }
    const bad = path.join(tmp, 'bad-policy.yaml');
    fs.writeFileSync(bad, 'version: 1\ngroups:\n  x:\n    networks: [10.0.0.300/8]\n');
    const b = shadowim(['rules', '--format', 'iptables', '--policy', bad]);
    assert.notEqual(b.status, 0);
    assert.match(b.stderr.trim(), /^shadowim: .*bad-policy\.yaml:4/);
  });

  it('answers an --out or --events it cannot use with one line and exit 2, and leaves the previous export whole', () => {
    const file = path.join(tmp, 'keep.nft');
    fs.writeFileSync(file, 'previous export\n');
    const again = shadowim(['rules', '--format', 'nftables', '--out', file]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(fs.readFileSync(file, 'utf8'), /^table inet /m, 'a good --out replaces the file');
    const before = fs.readFileSync(file, 'utf8');
    const write = (name: string, text: string) => {
      fs.writeFileSync(path.join(tmp, name), text);
      return path.join(tmp, name);
    };
    const cases: Array<[string[], RegExp]> = [
      [['--out', path.join(tmp, 'no-such-dir', 'x.nft')], /^shadowim: cannot write .*x\.nft: no such directory; give --out a file in a writable directory, or leave it out for standard output$/],
      [['--out', tmp], /^shadowim: cannot write .*: is a directory; give --out a file/],
      [['--events', path.join(tmp, 'missing.jsonl'), '--out', file], /^shadowim: cannot read events file .*missing\.jsonl: no such file; give --events the JSONL that `shadowim analyze` wrote$/],
      // review of 30 November: a capture or a text report given to --events added nothing, exit 0
      [['--events', write('not-events.txt', 'shadowim: x.pcap: 17 packets\n\x00\xd4\xc3\xb2\xa1\n'), '--out', file], /^shadowim: events file .*not-events\.txt holds no shadowim events \(2 lines, none a JSON event\); give --events the JSONL that `shadowim analyze --format jsonl` wrote$/],
      [['--events', write('empty.jsonl', ''), '--out', file], /^shadowim: events file .*empty\.jsonl holds no shadowim events \(it is empty\)/],
    ];
    for (const [args, re] of cases) {
      const r = shadowim(['rules', '--format', 'nftables', ...args]);
      assert.equal(r.status, 2, r.stderr); // a file an option names that cannot be used (was 1 for --events)
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr.trim(), re);
    }
    assert.equal(fs.readFileSync(file, 'utf8'), before, 'the export written before is untouched');
    assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')), [], 'no temporary file is left behind');
  });

  it('refuses a Suricata export whose sanctioned names do not fit one rule with one line and exit 2, writing nothing', () => {
    const policy = path.join(tmp, 'many-sanctioned.yaml');
    const names = Array.from({ length: 200 }, (_, i) => `team-workspace-${i}.slack.com`);
    fs.writeFileSync(policy, `version: 1\nsanctioned_servers: [${names.join(', ')}]\n`);
    const out = path.join(tmp, 'many.rules');
    const r = shadowim(['rules', '--format', 'suricata', '--policy', policy, '--out', out]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), /^shadowim: suricata: too many sanctioned names under slack\.com for one Suricata rule \(200 names, a \d+ KiB DNS rule; Suricata reads at most 8 KiB a line\): sanction the parent domain \(\.slack\.com\) or fewer names, or use another format$/);
    assert.equal(fs.existsSync(out), false);
    fs.writeFileSync(policy, `version: 1\nsanctioned_servers: [${names.slice(0, 20).join(', ')}]\n`);
    assert.equal(shadowim(['rules', '--format', 'suricata', '--policy', policy, '--out', out]).status, 0);
  });

  it('answers a wrong format with one line naming the choices', () => {
    const r = shadowim(['rules', '--format', 'ipchains']);
    assert.equal(r.status, 2);
    assert.match(r.stderr.trim(), /^shadowim: unknown format 'ipchains'; choose one of iptables, .*suricata, rpz, unbound$/);
    assert.equal(r.stderr.trim().split('\n').length, 1);
  });
});

describe('firewall export at scale', () => {
  // a month of sessions, most to one messenger's many servers (a CDN). Each observed server was compared
  // with every one before it (90,000 of one protocol: minutes), and 200,000 sessions overflowed the stack
  // while the events were gathered. The bound is generous: a few seconds of work here.
  boundedIt(__filename, 'a month of events: 200,000 sessions, 100,000 distinct IPv4/IPv6 servers and 20,000 names in every format', 90, () => {
    const SERVERS = 100000;
    const NAMES = 20000;
    const hex = (n: number) => n.toString(16);
    const server = (i: number) => (i % 10 < 7 ? `100.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}` : `2001:db8:${hex(0x100 + (i >> 12))}:${hex(0x1000 + (i & 0xfff))}::1`);
    const protocol = (i: number) => (i % 20 === 0 ? 'telegram' : i % 20 === 1 ? 'xmpp' : 'whatsapp');
    const lines: string[] = [];
    for (let i = 0; i < 2 * SERVERS; i++) {
      const k = i % SERVERS;
      lines.push(JSON.stringify({ type: 'session', protocol: protocol(k), transport: 'tcp', server: { ip: server(k), port: 443 }, server_name: `n${k % NAMES}.cdn${k % 50}.example.net` }));
    }
    const ev = path.join(tmp, 'month.jsonl');
    fs.writeFileSync(ev, lines.join('\n') + '\n');
    const m = buildModel({ ...buildRuleInput({ eventFiles: [ev] }), action: 'block', now: new Date('2026-01-01T00:00:00Z'), exceptions: [{ sources: ['10.20.0.0/16'], protocols: ['telegram'], reason: 'support' }], sanctioned: ['n7.cdn7.example.net', '.cdn9.example.net'] });
    assert.equal(m.targets.find((t) => t.protocol === 'whatsapp')!.observed, SERVERS * 0.9, 'every distinct whatsapp server once');
    for (const f of FORMATS) {
      const text = f.render(m);
      if (!['ip6tables', 'rpz', 'unbound'].includes(f.id)) assert.match(text, /\b100\.65\.134\.156\b/, `${f.id}: an observed IPv4 server`);
      if (!['iptables', 'rpz', 'unbound'].includes(f.id)) assert.match(text, /\b2001:db8:118:169f::1\b/, `${f.id}: an observed IPv6 server`);
      if (['rpz', 'unbound', 'suricata'].includes(f.id)) assert.match(text, /\bn19999\.cdn49\.example\.net\b/, `${f.id}: an observed name`);
    }
  });

  // a month of `analyze` output with its messages is larger than the longest string V8 makes (~512 MB):
  // reading the file as one string failed with a stack trace. It is read in chunks now; the first and
  // last sessions of a 540 MB file are both exported, and a line longer than 16 MiB is passed over.
  boundedIt(__filename, 'an --events file larger than the longest string: read in chunks, the sessions at both ends exported', 120, () => {
    const ev = path.join(tmp, 'huge.jsonl');
    const fd = fs.openSync(ev, 'w');
    try {
      const first = JSON.stringify({ type: 'session', protocol: 'xmpp', transport: 'tcp', server: { ip: '198.51.100.71', port: 5222 } }) + '\n';
      fs.writeSync(fd, first);
      // message lines with a multi-byte character at every 4 MiB chunk border somewhere
      const msg = Buffer.from(JSON.stringify({ type: 'message', protocol: 'xmpp', text: 'é'.repeat(500) + 'x'.repeat(17) }) + '\n');
      const block = Buffer.concat(Array.from({ length: Math.ceil((1 << 20) / msg.length) }, () => msg));
      for (let written = 0; written < 540 * (1 << 20); written += block.length) fs.writeSync(fd, block);
      fs.writeSync(fd, '{"type":"message","text":"' + 'y'.repeat(20 << 20) + '"}\n'); // over 16 MiB: skipped
      fs.writeSync(fd, JSON.stringify({ type: 'session', protocol: 'xmpp', transport: 'tcp', server: { ip: '198.51.100.72', port: 5222 } }));
    } finally {
      fs.closeSync(fd);
    }
    try {
      const r = shadowim(['rules', '--format', 'iptables', '--events', ev]);
      assert.equal(r.status, 0, r.stderr.slice(0, 500));
      assert.match(r.stdout, /198\.51\.100\.71/, 'the first session');
      assert.match(r.stdout, /198\.51\.100\.72/, 'the last session, after 540 MB and an over-long line');
    } finally {
      fs.rmSync(ev, { force: true });
    }
  });
});
