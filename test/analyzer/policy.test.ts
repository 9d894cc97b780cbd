// Policy files: groups, hours in a time zone, chat vs file transfer, identity mapping from CSV,
// sanctioned servers, and bad files (each error names the file, the line and the problem).
import assert from 'node:assert/strict';
import { Capture } from '../helpers/pcapgen';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parsePolicy, loadPolicyFile, groupsOf, isSanctioned, PolicyError } from '../../analyzer/policy';
import { inSchedule, localTime } from '../../analyzer/schedule';
import { shadowim } from '../helpers/run';
import { REPO } from '../helpers/paths';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-policy-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
}

/** the one-line error a policy text gives */
function errorOf(text: string, name = 'p.yaml'): string {
  try {
    loadPolicyFile(write(name, text));
  } catch (e) {
    assert.ok(e instanceof PolicyError, `expected a PolicyError, got ${e}`);
    assert.ok(!e.message.includes('\n'), 'one line');
    return e.message;
  }
  assert.fail('policy was accepted');
}

describe('analyzer: policy', () => {
  it('the example policy shipped in the repository is valid', () => {
    const p = loadPolicyFile(path.join(REPO, 'analyzer', 'policy.example.yaml'));
    assert.equal(p.groups.length, 3);
    assert.equal(p.people.resolve(['Sam.Lee@jabber.example/phone']), 'Sam Lee');
  });

  it('places clients in groups by network, host, identity and person', () => {
    const p = parsePolicy(
      `
groups:
  eng:
    networks: [10.1.0.0/16, "2001:db8::/32"]
    allow: [{ protocols: [xmpp] }]
  ops:
    hosts: [192.0.2.7]
    users: [Op.Erator@Jabber.Example, "Kim Doe"]
    allow: [{ protocols: any }]
people:
  map: { 198.51.100.9: Kim Doe }
`,
      'inline.yaml',
    );
    const names = (ip: string, ids: string[] = []) => groupsOf(p, ip, ids, p.people.resolve(ids, ip)).map((g) => g.name);
    assert.deepEqual(names('10.1.2.3'), ['eng']);
    assert.deepEqual(names('2001:db8::5'), ['eng']);
    assert.deepEqual(names('192.0.2.7'), ['ops']);
    assert.deepEqual(names('192.0.2.8'), []);
    assert.deepEqual(names('203.0.113.1', ['op.erator@jabber.example/home']), ['ops'], 'JID resource and case ignored');
    assert.deepEqual(names('198.51.100.9'), ['ops'], 'by the person the address maps to');
  });

  it('evaluates hours in the rule time zone, across midnight and DST', () => {
    const p = parsePolicy(
      `
timezone: America/New_York
groups:
  g:
    networks: [10.0.0.0/8]
    allow:
      - { protocols: [irc], days: mon-fri, hours: "09:00-17:00" }
      - { protocols: [xmpp], days: [sat], hours: "22:00-02:00", timezone: Europe/Berlin }
`,
      'h.yaml',
    );
    const [irc, xmpp] = p.groups[0].allow;
    // Monday 2024-01-15 14:30 UTC = 09:30 in New York (EST, UTC-5)
    assert.ok(inSchedule(irc.schedule!, Date.UTC(2024, 0, 15, 14, 30)));
    assert.ok(!inSchedule(irc.schedule!, Date.UTC(2024, 0, 15, 13, 30)), '08:30 local');
    // Monday 2024-07-15 13:30 UTC = 09:30 EDT (UTC-4): the zone, not a fixed offset
    assert.ok(inSchedule(irc.schedule!, Date.UTC(2024, 6, 15, 13, 30)));
    assert.ok(!inSchedule(irc.schedule!, Date.UTC(2024, 0, 13, 15, 0)), 'Saturday');
    // Saturday 23:30 Berlin (CET) = 22:30 UTC; Sunday 01:00 Berlin belongs to Saturday's range
    assert.ok(inSchedule(xmpp.schedule!, Date.UTC(2024, 0, 13, 22, 30)));
    assert.ok(inSchedule(xmpp.schedule!, Date.UTC(2024, 0, 14, 0, 0)));
    assert.ok(!inSchedule(xmpp.schedule!, Date.UTC(2024, 0, 14, 1, 30)), 'Sunday 02:30 Berlin');
    assert.deepEqual(localTime(Date.UTC(2024, 0, 15, 14, 30), 'America/New_York'), { day: 1, minute: 9 * 60 + 30 });
  });

  it('loads the identity mapping from a CSV next to the policy (relative path)', () => {
    fs.mkdirSync(path.join(tmp, 'sub'), { recursive: true });
    write('sub/people.csv', '\ufeffidentity,person\r\n10.9.9.9,Ann Example\r\n"ann, the aim name",Ann Example\n4711,Bo Example\n');
    const p = loadPolicyFile(write('sub/pol.yaml', 'people:\n  csv: people.csv\n'));
    assert.equal(p.people.resolve([], '10.9.9.9'), 'Ann Example');
    assert.equal(p.people.resolve(['Ann, The AIM Name']), 'Ann Example');
    assert.equal(p.people.resolve(['4711']), 'Bo Example');
    assert.equal(p.people.size, 3, 'the header row (after a BOM, with CRLF) is not a mapping');
  });

  it('knows sanctioned servers by address, block and name', () => {
    const p = parsePolicy('sanctioned_servers: [10.0.5.20, 192.0.2.0/28, chat.corp.example, .im.corp.example]\n', 's.yaml');
    assert.ok(isSanctioned(p, '10.0.5.20', undefined));
    assert.ok(isSanctioned(p, '192.0.2.9', undefined));
    assert.ok(!isSanctioned(p, '192.0.2.17', undefined));
    assert.ok(isSanctioned(p, '203.0.113.5', 'CHAT.corp.example'));
    assert.ok(isSanctioned(p, '203.0.113.5', 'eu.im.corp.example'));
    assert.ok(!isSanctioned(p, '203.0.113.5', 'chat.corp.example.evil.test'));
  });

  it('names malicious_link under severity and suppression like the other kinds', () => {
    const p = parsePolicy('severity:\n  malicious_link: critical\n  malicious_link.urlhaus: medium\nsuppression:\n  malicious_link: 10m\n', 'ml.yaml');
    assert.equal(p.severity.get('malicious_link'), 'critical');
    assert.equal(p.severity.get('malicious_link.urlhaus'), 'medium');
    assert.equal(p.suppression.malicious_link, 600_000);
  });

  it('an empty file is the default policy', () => {
    const p = loadPolicyFile(write('empty.yaml', '# nothing\n'));
    assert.equal(p.groups.length, 0);
    assert.equal(p.dlp.detectors.pan.enabled, true);
  });

  describe('bad policy files: one line with file, line and problem', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['unknown top-level key', 'version: 1\ngruops: {}\n', /p\.yaml:2: unknown setting 'gruops' in the policy/],
      ['YAML syntax', 'groups:\n  a: [1, 2\n', /p\.yaml:\d+: not valid YAML/],
      ['duplicate key', 'timezone: UTC\ntimezone: UTC\n', /p\.yaml:2: not valid YAML: Map keys must be unique/],
      ['bad CIDR', 'groups:\n  g:\n    networks:\n      - 10.0.0.0/8\n      - 10.0.0.0/33\n', /p\.yaml:5: group 'g': '10\.0\.0\.0\/33' is not a CIDR block/],
      ['bad time zone', 'timezone: Mars/Olympus\n', /p\.yaml:1: unknown time zone 'Mars\/Olympus'/],
      ['bad hours', 'groups:\n  g:\n    allow:\n      - protocols: [irc]\n        hours: "9-17"\n', /p\.yaml:5: .*'9-17' is not a time range/],
      ['bad day', 'groups:\n  g:\n    allow:\n      - days: [mon, funday]\n', /p\.yaml:4: .*'funday' is not a day/],
      ['bad severity', 'severity:\n  unauthorized_im: urgent\n', /p\.yaml:2: .*'urgent' is not a severity/],
      ['bad severity key', 'severity:\n  spam: high\n', /p\.yaml:2: severity key 'spam' must start with an alert kind/],
      ['unsafe regex', 'dlp:\n  regexes:\n    - name: r\n      pattern: "(a)\\\\1"\n', /p\.yaml:4: regex 'r': .*backreferences/],
      ['broken regex', 'dlp:\n  regexes:\n    - name: r\n      pattern: "a("\n', /p\.yaml:4: regex 'r': invalid regular expression/],
      ['bad threshold', 'dlp:\n  detectors:\n    pan:\n      threshold: 0\n', /p\.yaml:4: dlp\.detectors\.pan\.threshold must be a whole number from 1/],
      ['unknown detector', 'dlp:\n  detectors:\n    passport: true\n', /p\.yaml:3: unknown setting 'passport' in dlp\.detectors/],
      ['bad duration', 'suppression:\n  default: soon\n', /p\.yaml:2: suppression\.default 'soon' is not a duration/],
      ['bad sanctioned server', 'sanctioned_servers:\n  - "not a host!"\n', /p\.yaml:2: sanctioned server 'not a host!'/],
      ['rule allowing nothing', 'groups:\n  g:\n    allow:\n      - protocols: [irc]\n        chat: false\n        files: false\n', /p\.yaml:4: .*allows neither chat nor files/],
      ['chat not boolean', 'groups:\n  g:\n    allow:\n      - chat: maybe\n', /p\.yaml:4: .*chat must be true or false/],
      // review of 30 November: each of these was accepted and applied to nothing, or misread
      ['ignore_case with an upper-case letter', 'dlp:\n  regexes:\n    - name: empid\n      pattern: "EMP-[0-9]{6}"\n      ignore_case: true\n', /p\.yaml:4: regex 'empid' has ignore_case but 'E' in upper case, which never matches/],
      ['ignore_case with an upper-case letter in a class', 'dlp:\n  regexes:\n    - name: c\n      pattern: "id [A-Z]{2}[0-9]+"\n      ignore_case: true\n', /p\.yaml:4: regex 'c' has ignore_case but 'A' in upper case/],
      ['empty protocols', 'groups:\n  g:\n    allow:\n      - protocols: []\n', /p\.yaml:4: .*protocols is empty, so the rule allows nothing; list protocols, write any, or remove the rule/],
      ['empty days', 'groups:\n  g:\n    allow:\n      - days: []\n', /p\.yaml:4: .*days: the list is empty, so the rule never applies/],
      ['empty hours', 'groups:\n  g:\n    allow:\n      - hours: []\n', /p\.yaml:4: .*hours is empty, so the rule never applies/],
      ['misspelt severity qualifier', 'severity:\n  policy_violation.outside_hour: low\n', /p\.yaml:2: severity key 'policy_violation\.outside_hour': 'outside_hour' is none of policy_violation's qualifiers \(outside_hours, /],
      ['misspelt protocol in a severity key', 'severity:\n  unauthorized_im.irk: low\n', /p\.yaml:2: severity key 'unauthorized_im\.irk'/],
      ['misspelt detector in a severity key', 'severity:\n  sensitive_data.pann: low\n', /p\.yaml:2: severity key 'sensitive_data\.pann'/],
      ['unknown file type', 'files:\n  block_types: [pe, exe]\n', /p\.yaml:2: files\.block_types: 'exe' is not a file type id/],
      ['empty extension', 'files:\n  dangerous_extensions: [scr, ""]\n', /p\.yaml:2: files\.dangerous_extensions: '' is not an extension/],
      ['YAML alias', 'groups:\n  a:\n    networks: &nets [10.0.0.0/8]\n  b:\n    networks: *nets\n', /p\.yaml:5: YAML aliases \(\*nets\) are not supported in a policy; write the values out/],
      ['missing CSV', 'people:\n  csv: nowhere.csv\n', /p\.yaml:2: cannot read people CSV 'nowhere\.csv': no such file; the path is relative to the policy file$/],
    ];
    for (const [what, text, re] of cases) {
      it(what, () => assert.match(errorOf(text), re));
    }

    it('the valid forms of those are taken: qualifiers and protocol ids in severity keys, *.scr and .scr, lower-case ignore_case patterns', () => {
      const p = parsePolicy('severity:\n  policy_violation.outside_hours: low\n  unauthorized_im.WhatsApp: high\n  unauthorized_im.encrypted: low\n  sensitive_data.pan: critical\n  sensitive_data.keyword: low\n  cleartext_credentials.sasl-plain: low\n' +
        'files:\n  block_types: [pe, executable, docx]\n  dangerous_extensions: ["*.scr", .pif, exe]\ndlp:\n  regexes:\n    - { name: e, pattern: "emp-[0-9]{6}\\\\D\\\\p{Lu}(?<Id>x)", ignore_case: true }\n' +
        // (second review) hex escapes and a negated class hold no letter the text is searched for
        '    - { name: f, pattern: "caf\\\\u00E9 [0-9]+ path\\\\x2Fsecret stra\\\\u00DFe [^\\\\WA]", ignore_case: true }\n', 'p.yaml');
      assert.deepEqual([...p.severity.keys()], ['policy_violation.outside_hours', 'unauthorized_im.whatsapp', 'unauthorized_im.encrypted', 'sensitive_data.pan', 'sensitive_data.keyword', 'cleartext_credentials.sasl-plain']);
      assert.deepEqual([...p.files.dangerousExtensions], ['scr', 'pif', 'exe']);
      assert.deepEqual([...p.files.blockTypes], ['pe', 'executable', 'docx']);
    });

    it('a bad CSV row names the CSV file and the row number', () => {
      write('bad.csv', 'identity,person\n10.0.0.1,Ann\njust-one-field\n');
      assert.match(errorOf('people:\n  csv: bad.csv\n'), /p\.yaml:2: bad\.csv: row 3: expected 2 fields \(identity,person\), found 1/);
      write('bad2.csv', '10.0.0.1,Ann\n"unterminated,Bob\n');
      assert.match(errorOf('people:\n  csv: bad2.csv\n'), /bad2\.csv: row 2: malformed quoting/);
      write('bad3.csv', '10.0.0.1,Ann\n999.1.1.1,Bob\n');
      assert.match(errorOf('people:\n  csv: bad3.csv\n'), /bad3\.csv: row 2: '999\.1\.1\.1' is not a valid IP address/);
      // review of 30 November: these became screen names that never match, or silently replaced a mapping
      for (const [row, re] of [
        ['10.0.0/8,Bob', /row 2: '10\.0\.0\/8' is not a valid IP address or CIDR block/],
        ['fe80::1/200,Bob', /row 2: 'fe80::1\/200' is not a valid IP address or CIDR block/],
        ['ann,Bob', /row 2: 'ann' is mapped to Ann already; one identity names one person/],
        ['2001:db8::5,"Eve\x1b[31m"', /row 2: identity or person has a control character/],
      ] as const) {
        write('bad4.csv', `ann,Ann\n${row}\n`);
        assert.match(errorOf('people:\n  csv: bad4.csv\n'), re, row);
      }
    });

    it('an address mapped in any spelling names the person the sensor\'s address is (RFC 5952, IPv4-mapped)', () => {
      const p = parsePolicy('people:\n  map:\n    "2001:db8:20:0:0:0:0:15": Dana\n    "2001:0DB8:0020::0016/128": Eli\n    "::ffff:10.0.0.7": Fay\n    ann: Ann\n    Ann: Ann\n', 'p.yaml');
      assert.deepEqual(['2001:db8:20::15', '2001:db8:20::16', '10.0.0.7'].map((ip) => p.people.byAddress(ip)), ['Dana', 'Eli', 'Fay']);
      assert.equal(p.people.byIdentity('ANN'), 'Ann');
    });
  });

  describe('shadowim policy check', () => {
    it('explains a valid policy in plain words and exits 0', () => {
      const r = shadowim(['policy', 'check', path.join(REPO, 'analyzer', 'policy.example.yaml')]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /engineering: addresses 10\.20\.0\.0\/16/);
      assert.match(r.stdout, /may use xmpp, irc: chat only \(file transfers are violations\), on Monday to Friday, 07:00-19:00 \(America\/New_York\)/);
      assert.match(r.stdout, /Sanctioned servers .*chat\.corp\.example/);
    });

    it('warns about a protocol id no signature reports and a group without members', () => {
      const f = write('warn.yaml', 'groups:\n  g:\n    networks: [10.0.0.0/8]\n    allow:\n      - protocols: [whatsap]\n  empty:\n    allow: [{ protocols: any }]\n');
      const r = shadowim(['policy', 'check', f]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /Warning: group 'g' \(line 5\) names protocol 'whatsap', which no signature reports/);
      assert.match(r.stdout, /Warning: group 'empty' has no networks, hosts or users/);
    });

    it('prints one line naming file and line and exits 2 (a mistake in configuration) on a bad policy', () => {
      const f = write('bad-cli.yaml', 'groups:\n  g:\n    networks: [10.0.0.300/8]\n');
      const r = shadowim(['policy', 'check', f]);
      assert.equal(r.status, 2);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.match(r.stderr, /bad-cli\.yaml:3: group 'g': '10\.0\.0\.300\/8' is not a CIDR block/);
    });

    it('a block with address bits set past its prefix is refused with the block it would mean (198.18.0.183/0 would sanction every server)', () => {
      for (const [name, body, line, shown] of [
        ['sanc0.yaml', 'sanctioned_servers: [198.18.0.183/0]\n', 1, "sanctioned_servers: '198.18.0.183/0' has address bits set past its prefix, so it would cover all of 0.0.0.0/0; write 0.0.0.0/0 if that is meant, or 198.18.0.183 for the one address"],
        ['home16.yaml', 'home_networks: [10.0.0.0/8, 10.1.2.3/16]\n', 1, "home_networks: '10.1.2.3/16' has address bits set past its prefix, so it would cover all of 10.1.0.0/16; write 10.1.0.0/16 if that is meant, or 10.1.2.3 for the one address"],
        ['grp6.yaml', 'groups:\n  g:\n    networks: ["2001:db8:77::1/64"]\n', 3, "group 'g' networks: '2001:db8:77::1/64' has address bits set past its prefix, so it would cover all of 2001:db8:77::/64; write 2001:db8:77::/64 if that is meant, or 2001:db8:77::1 for the one address"],
      ] as const) {
        const f = write(name, body);
        const r = shadowim(['policy', 'check', f]);
        assert.equal(r.status, 2, r.stdout);
        assert.equal(r.stderr, `shadowim: ${f}:${line}: ${shown}\n`);
      }
      // exact blocks, single addresses and /0 written as 0.0.0.0/0 stay valid
      const ok = write('exact.yaml', 'home_networks: [10.1.0.0/16, "2001:db8::/32", 10.9.9.9, 0.0.0.0/0]\nsanctioned_servers: [198.18.0.0/15, 198.18.0.183]\n');
      const r = shadowim(['policy', 'check', ok]);
      assert.equal(r.status, 0, r.stderr);
    });

    // review of 30 November: only policy check said so; analyze ran the rule that allows nothing in silence
    it('analyze says the same warnings on standard error, one line each, and runs', () => {
      const f = write('warn2.yaml', 'groups:\n  g:\n    networks: [10.0.0.0/8]\n    allow:\n      - protocols: [whatsap]\n');
      const cap = path.join(tmp, 'none.pcap');
      fs.writeFileSync(cap, new Capture().pcap());
      const r = shadowim(['analyze', cap, '--policy', f, '--format', 'jsonl']);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`^shadowim: policy ${f.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: warning: group 'g' \\(line 5\\) names protocol 'whatsap', which no signature reports`, 'm'));
    });

    // review of 30 November: a group's or a keyword list's name with a newline or ESC split the output
    // and recoloured the terminal
    it('names from the policy are shown with their control characters escaped: one entry, one line', () => {
      const f = write('hostile.yaml', 'groups:\n  "eng\\nFAKE LINE\\u001b[31m":\n    users: [alice]\n    allow:\n      - protocols: [xmpp]\ndlp:\n  keywords:\n    - name: "kw\\rX"\n      words: [hello]\n');
      const r = shadowim(['policy', 'check', f]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^ {2}eng\\x0aFAKE LINE\\x1b\[31m: users alice$/m);
      assert.doesNotMatch(r.stdout, /[\x00-\x09\x0b-\x1f]/);
      assert.doesNotMatch(r.stdout, /^FAKE LINE/m);
    });

    it('a policy file that cannot be read is one line in words and exit 2, for policy check and analyze --policy', () => {
      const missing = path.join(tmp, 'nope.yaml');
      for (const [f, why] of [[missing, 'no such file'], [tmp, 'is a directory'], [path.join(write('plain.txt', 'x'), 'p.yaml'), 'no such file']]) {
        const c = shadowim(['policy', 'check', f]);
        assert.equal(c.status, 2);
        assert.equal(c.stdout, '');
        assert.equal(c.stderr, `shadowim: ${f}: cannot read the policy file: ${why}\n`);
      }
      const a = shadowim(['analyze', '-', '--format', 'jsonl', '--policy', missing], { input: Buffer.alloc(0) });
      assert.equal(a.status, 2);
      assert.equal(a.stderr, `shadowim: ${missing}: cannot read the policy file: no such file\n`);
    });

    it('analyze refuses a bad --policy with the same one line', () => {
      const f = write('bad-an.yaml', 'dlp:\n  regexes:\n    - name: x\n      pattern: "(?<=a)b"\n');
      const r = shadowim(['analyze', '-', '--format', 'jsonl', '--policy', f], { input: Buffer.alloc(0) });
      assert.equal(r.status, 2);
      assert.match(r.stderr, /bad-an\.yaml:4: regex 'x'/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });
  });
});
