// The company directory in a policy (people.ldif, groups.NAME.directory_groups): an LDIF export from
// Active Directory or an LDAP server names who is behind an account or address and which directory
// groups they are in, so the policy can allow IM by the groups the company already keeps.
// Ground truth: RFC 2849's own examples, and hand-written exports in the shapes ldifde and ldapsearch write.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { addDirectory, directoryGroupKey, emptyDirectory, parseLdif } from '../../analyzer/directory';
import { IdentityMap } from '../../analyzer/identity';
import { REPO } from '../helpers/paths';
import { loadPolicyFile, groupsOf, PolicyError } from '../../analyzer/policy';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-directory-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text);
  return f;
};

// RFC 2849 examples 2 (a folded value, no space after the colons) and 3 (a base64 value with a CR)
const RFC_EXAMPLES = `version: 1
dn:cn=Barbara Jensen, ou=Product Development, dc=airius, dc=com
objectclass:top
objectclass:person
objectclass:organizationalPerson
cn:Barbara Jensen
cn:Barbara J Jensen
cn:Babs Jensen
sn:Jensen
uid:bjensen
telephonenumber:+1 408 555 1212
description:Babs is a big sailing fan, and travels extensively in sea
 rch of perfect sailing conditions.
title:Product Manager, Rod and Reel Division

dn: cn=Gern Jensen, ou=Product Testing, dc=airius, dc=com
objectclass: top
objectclass: person
objectclass: organizationalPerson
cn: Gern Jensen
cn: Gern O Jensen
sn: Jensen
uid: gernj
telephonenumber: +1 408 555 1212
description:: V2hhdCBhIGNhcmVmdWwgcmVhZGVyIHlvdSBhcmUhICBUaGlzIHZhbHVlIGlzIGJhc2UtNjQtZW5jb2RlZCBiZWNhdXNlIGl0IGhhcyBhIGNvbnRyb2wgY2hhcmFjdGVyIGluIGl0IChhIENSKS4NICBCeSB0aGUgd2F5LCB5b3Ugc2hvdWxkIHJlYWxseSBnZXQgb3V0IG1vcmUu
`;

// Active Directory as ldifde writes it: CRLF, memberOf with an escaped comma, proxyAddresses with
// schemes, a base64 display name (non-ASCII), a folded memberOf, a computer account (not a person)
const AD = [
  'dn: CN=Dana Ortiz,OU=Staff,DC=corp,DC=example',
  'changetype: add',
  'objectClass: top',
  'objectClass: person',
  'objectClass: user',
  'displayName: Dana Ortiz',
  'sAMAccountName: dortiz',
  'userPrincipalName: dortiz@corp.example',
  'mail: Dana.Ortiz@corp.example',
  'proxyAddresses: SMTP:Dana.Ortiz@corp.example',
  'proxyAddresses: sip:dana@lync.corp.example',
  'proxyAddresses: X500:/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=dana',
  'memberOf: CN=Engineering,OU=Groups,DC=corp,DC=example',
  '',
  'dn: CN=Jose Nunez,OU=Staff,DC=corp,DC=example',
  'objectClass: user',
  `displayName:: ${Buffer.from('José Núñez').toString('base64')}`,
  'sAMAccountName: jnunez',
  'msRTCSIP-PrimaryUserAddress: sip:jose.nunez@corp.example',
  'memberOf: CN=Sales\\, EMEA,OU=Gr',
  ' oups,DC=corp,DC=example',
  '',
  'dn: CN=BUILD01,OU=Computers,DC=corp,DC=example',
  'objectClass: computer',
  'cn: BUILD01',
  'sAMAccountName: BUILD01$',
  'memberOf: CN=Engineering,OU=Groups,DC=corp,DC=example',
  '',
].join('\r\n');

// OpenLDAP as ldapsearch -LLL writes it: inetOrgPerson, groupOfNames with member DNs, posixGroup with memberUid
const OPENLDAP = `# extended LDIF
dn: uid=kim,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
cn: Kim Doe
uid: kim
mail: kim@example.org

dn: uid=lee,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
cn: Lee Park
uid: lee

dn: cn=support,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: support
member: uid=kim,ou=people,dc=example,dc=org
member: uid=nobody,ou=people,dc=example,dc=org

dn: cn=ops,ou=groups,dc=example,dc=org
objectClass: posixGroup
cn: ops
memberUid: lee

dn: cn=empty,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: empty
`;

describe('analyzer: the directory (people.ldif, directory_groups)', () => {
  it('reads RFC 2849\'s examples: folded lines, values without a space, base64 with a CR', () => {
    const [a, b] = parseLdif(RFC_EXAMPLES, 'rfc.ldif');
    assert.equal(a.dn, 'cn=Barbara Jensen, ou=Product Development, dc=airius, dc=com');
    assert.deepEqual(a.attrs.get('cn'), ['Barbara Jensen', 'Barbara J Jensen', 'Babs Jensen']);
    assert.deepEqual(a.attrs.get('description'), ['Babs is a big sailing fan, and travels extensively in search of perfect sailing conditions.']);
    assert.equal(b.attrs.get('description')![0], 'What a careful reader you are!  This value is base-64-encoded because it has a control character in it (a CR).\r  By the way, you should really get out more.');
    assert.deepEqual(b.attrs.get('uid'), ['gernj']);
  });

  it('maps every account, mail and IM address of a person to the person, and groups from memberOf, member and memberUid', () => {
    write('ad.ldf', AD);
    write('ol.ldif', OPENLDAP);
    const p = loadPolicyFile(write('dir.yaml', `people:
  ldif: [ad.ldf, ol.ldif]
groups:
  eng:
    directory_groups: [Engineering]
    allow: [{ protocols: [xmpp, irc] }]
  sales:
    directory_groups: ["CN=Sales\\\\, EMEA,OU=Groups,DC=corp,DC=example"]
    allow: [{ protocols: [teams] }]
  helpdesk:
    directory_groups: [support, ops, empty]
    allow: [{ protocols: any }]
`));
    const who = (ids: string[]) => p.people.resolve(ids);
    assert.equal(who(['dortiz']), 'Dana Ortiz');
    assert.equal(who(['dana.ortiz@corp.example/laptop']), 'Dana Ortiz', 'a JID with a resource');
    assert.equal(who(['dana@lync.corp.example']), 'Dana Ortiz', 'sip: scheme dropped');
    assert.equal(who(['jose.nunez@corp.example']), 'José Núñez');
    assert.equal(who(['kim@example.org']), 'Kim Doe');
    assert.equal(who(['/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=dana']), undefined, 'X.500 addresses are not identities');
    assert.equal(who(['BUILD01$']), undefined, 'computer accounts are not people');
    const groups = (ids: string[]) => groupsOf(p, '203.0.113.9', ids, p.people.resolve(ids)).map((g) => g.name);
    assert.deepEqual(groups(['dortiz']), ['eng']);
    assert.deepEqual(groups(['jnunez']), ['sales'], 'by DN, an escaped comma in the CN, memberOf folded');
    assert.deepEqual(groups(['kim']), ['helpdesk'], 'groupOfNames member');
    assert.deepEqual(groups(['lee']), ['helpdesk'], 'posixGroup memberUid');
    assert.deepEqual(groups(['mallory']), []);
    assert.equal(p.directory.people, 4);
  });

  it('a line of blanks between entries separates them, as an empty one does', () => {
    // a tab-only line (a space at the start would fold it into the line before), and blanks after an empty line
    const es = parseLdif('dn: cn=a,dc=x\ncn: A\n\t\ndn: cn=b,dc=x\ncn: B\n\n   \ndn: cn=c,dc=x\ncn: C\n', 'blanks.ldif');
    assert.deepEqual(es.map((e) => [e.dn, e.attrs.get('cn')]), [['cn=a,dc=x', ['A']], ['cn=b,dc=x', ['B']], ['cn=c,dc=x', ['C']]]);
  });

  it('bad directories and unknown groups: one line naming the file, line and problem', () => {
    const err = (text: string) => {
      try {
        loadPolicyFile(write('e.yaml', text));
      } catch (e) {
        assert.ok(e instanceof PolicyError, String(e));
        assert.ok(!e.message.includes('\n'));
        return e.message;
      }
      assert.fail('accepted');
    };
    write('ad2.ldf', AD);
    assert.match(err('people: { ldif: ad2.ldf }\ngroups:\n  g:\n    directory_groups: [Enginering]\n'), /e\.yaml:4: group 'g': no directory group 'Enginering' in people\.ldif \(by CN or DN; some there: .*engineering/);
    assert.match(err('groups:\n  g:\n    directory_groups: [Engineering]\n'), /e\.yaml:3: group 'g': directory group 'Engineering' needs people\.ldif/);
    assert.match(err('people: { ldif: missing.ldif }\n'), /e\.yaml:1: cannot read people LDIF 'missing\.ldif': no such file; the path is relative to the policy file$/);
    write('broken.ldif', 'dn: cn=a,dc=x\ncn: A\nthis line has no colon\n');
    assert.match(err('people: { ldif: broken.ldif }\n'), /people\.ldif: broken\.ldif:3: not an LDIF line/);
    write('nobody.ldif', 'dn: cn=g,dc=x\nobjectClass: groupOfNames\ncn: g\n');
    assert.match(err('people: { ldif: nobody.ldif }\n'), /nobody\.ldif: no person with an account, mail or IM address in 1 LDIF entries/);
  });

  it('line ends LF, CRLF or a lone CR; a BOM; attribute options (AD ranged member lists); binary base64 values left out', () => {
    const lines = ['dn: cn=Kim Doe,ou=people,dc=example,dc=org', 'cn: Kim Doe', 'uid: kim', `thumbnailPhoto:: ${Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46]).toString('base64')}`, 'cn;lang-de: Kim Reh', '',
      'dn: CN=Big Group,OU=Groups,DC=example,DC=org', 'objectClass: group', 'member;range=0-1499: cn=Kim Doe,ou=people,dc=example,dc=org', ''];
    for (const eol of ['\n', '\r\n', '\r']) {
      const entries = parseLdif('\ufeff' + lines.join(eol), 'x.ldif');
      assert.equal(entries.length, 2, JSON.stringify(eol));
      assert.equal(entries[0].attrs.get('thumbnailphoto'), undefined, 'a JPEG is no text');
      assert.deepEqual(entries[0].attrs.get('cn'), ['Kim Doe', 'Kim Reh']);
      const dir = emptyDirectory();
      addDirectory(entries, 'x.ldif', new IdentityMap(), dir);
      assert.deepEqual([...(dir.groups.get('big group') ?? [])], ['Kim Doe'], JSON.stringify(eol));
    }
    // a lone CR inside a line is a line end: LDIF writes a CR in a value only in base64
    assert.throws(() => parseLdif('dn: cn=a\ncn: A\rno colon here\n', 'x.ldif'), /^Error: x\.ldif:3: not an LDIF line/);
  });

  it('change records other than add are skipped whole, a modify record\'s "-" separators too', () => {
    const entries = parseLdif(['version: 1', 'dn: cn=Kim Doe,dc=x', 'cn: Kim Doe', 'uid: kim', '',
      'dn: cn=Lee,dc=x', 'changetype: modify', 'replace: mail', 'mail: lee@x', '-', 'add: uid', 'uid: lee', '-', '',
      'dn: cn=Old,dc=x', 'changetype: delete', '',
      'dn: cn=Sam,dc=x', 'changetype: add', 'cn: Sam', 'uid: sam', ''].join('\n'), 'x.ldif');
    assert.deepEqual(entries.map((e) => [e.dn, e.attrs.get('uid')]), [['cn=Kim Doe,dc=x', ['kim']], ['cn=Sam,dc=x', ['sam']]]);
  });

  it('DNs compared unescaped: spaces after commas, case, \\, and \\2C, UTF-8 hex pairs; CNs unescaped', () => {
    const dir = emptyDirectory();
    addDirectory(parseLdif([
      'dn: cn=Barbara Jensen, ou=Product Development, dc=airius, dc=com', 'cn: Barbara Jensen', 'uid: bjensen', '',
      'dn: cn=Doe\\, John,ou=People,dc=airius,dc=com', 'cn: John Doe', 'uid: jdoe', '',
      'dn:: ' + Buffer.from('cn=Zoë,ou=People,dc=airius,dc=com').toString('base64'), 'cn: Zoe', 'uid: zoe', '',
      'dn: cn=Sales\\2C EMEA,ou=Groups,dc=airius,dc=com', 'objectClass: groupOfNames',
      'member: CN=Barbara Jensen,OU=Product Development,DC=airius,DC=com',
      'member: cn=Doe\\2C John, ou=people, dc=airius, dc=com',
      'member: cn=Zo\\C3\\AB,ou=People,dc=airius,dc=com', '',
    ].join('\n'), 'x.ldif'), 'x.ldif', new IdentityMap(), dir);
    assert.deepEqual([...(dir.groups.get('sales, emea') ?? [])].sort(), ['Barbara Jensen', 'John Doe', 'Zoe']);
    for (const dn of ['cn=Sales\\2C EMEA,ou=Groups,dc=airius,dc=com', 'CN=Sales\\, EMEA, OU=Groups, DC=airius, DC=com']) {
      assert.deepEqual([...(dir.groups.get(directoryGroupKey(dn)) ?? [])].sort(), ['Barbara Jensen', 'John Doe', 'Zoe'], `the DN is a key too, however spelled: ${dn}`);
    }
  });

  it("a group's DN is one group whether memberOf or its own entry spells it: by DN, all its people", () => {
    const ldif = write('spelled.ldif', [
      'dn: uid=kim,ou=people,dc=example,dc=org', 'objectClass: inetOrgPerson', 'cn: Kim Doe', 'uid: kim', 'memberOf: cn=support,ou=groups,dc=example,dc=org', '',
      'dn: uid=lee,ou=people,dc=example,dc=org', 'objectClass: inetOrgPerson', 'cn: Lee Park', 'uid: lee', '',
      'dn: CN=Support, OU=Groups, DC=example, DC=org', 'objectClass: groupOfNames', 'member: uid=lee,ou=people,dc=example,dc=org', '',
    ].join('\n'));
    for (const dn of ['cn=support,ou=groups,dc=example,dc=org', 'CN=Support, OU=Groups, DC=example, DC=org']) {
      const pol = write('spelled.yaml', `people: { ldif: ${path.basename(ldif)} }\ngroups:\n  s:\n    directory_groups: ["${dn}"]\n`);
      const p = loadPolicyFile(pol);
      assert.deepEqual([...p.groups[0].users].sort(), ['kimdoe', 'leepark'], dn);
    }
  });

  it('hostile files: errors are one short line, group names without control characters, group sets shared by DN and CN stay right', () => {
    const msg = (text: string) => {
      try {
        addDirectory(parseLdif(text, 'h.ldif'), 'h.ldif', new IdentityMap(), emptyDirectory());
      } catch (e) {
        assert.equal((e as Error).constructor, Error);
        return (e as Error).message;
      }
      return 'accepted';
    };
    for (const [text, re] of [
      ['x'.repeat(1_000_000) + ': y\n', /^h\.ldif:1: "x{40}…:" before any "dn:" line$/],
      ['dn: a\r\nbad\u2028name\u0000' + '\r'.repeat(3) + 'x:: ***\n', /^h\.ldif:2: not an LDIF line/],
      ['dn: a\nbad\u2028name\u0000x:: ***\n', /^h\.ldif:2: bad\?name\?x:: is not base64$/],
      ['dn: a\n\0\0\0\n', /^h\.ldif:2: not an LDIF line/],
      ['dn: a\ncn:: ' + '!'.repeat(100_000) + '\n', /^h\.ldif:2: cn:: is not base64$/],
    ] as const) {
      const m = msg(text);
      assert.match(m, re);
      assert.ok(m.length < 200 && !/[\r\n\u2028\u2029\0]/.test(m), JSON.stringify(m.slice(0, 300)));
    }
    const dir = emptyDirectory();
    addDirectory(parseLdif([
      'dn: cn=Kim,dc=x', 'cn: Kim', 'uid: kim', `memberOf:: ${Buffer.from('cn=evil\ngroup,dc=x').toString('base64')}`, 'memberOf: cn=Ops,ou=a,dc=x', '',
      'dn: cn=Lee,dc=x', 'cn: Lee', 'uid: lee', 'memberOf: cn=Ops,ou=b,dc=x', '',
    ].join('\n'), 'h.ldif'), 'h.ldif', new IdentityMap(), dir);
    assert.ok(dir.groups.has('evil?group') && ![...dir.groups.keys()].some((k) => /[\n\r]/.test(k)));
    // two groups named Ops: each DN has its own member, the CN both
    assert.deepEqual([...dir.groups.get('cn=ops,ou=a,dc=x')!], ['Kim']);
    assert.deepEqual([...dir.groups.get('cn=ops,ou=b,dc=x')!], ['Lee']);
    assert.deepEqual([...dir.groups.get('ops')!].sort(), ['Kim', 'Lee']);
  });

  it('millions of empty, folded or comment lines and a 40 MB line in 160 MB of heap; what is kept does not hold the file', function () {
    this.timeout(120_000);
    // before: an array of lines and one of logical lines (3.2 GB for 50 MB of empty lines), and the
    // people and groups kept were substrings holding the whole file alive
    const script = `
      const { parseLdif, addDirectory, emptyDirectory } = require('./analyzer/directory');
      const { IdentityMap } = require('./analyzer/identity');
      const head = 'dn: cn=Kim,dc=x\\ncn: Kim Doe\\nuid: kim\\n';
      const shapes = {
        empty: () => head + '\\n'.repeat(16e6),
        folded: () => head + 'description: x\\n' + ' y\\n'.repeat(6e6),
        comments: () => head + '#\\n'.repeat(8e6),
        crOnly: () => (head + 'description: x\\n\\n').replace(/\\n/g, '\\r').repeat(20e3),
        longLine: () => head + 'description: ' + 'y'.repeat(40e6) + '\\n',
      };
      const out = {};
      const read = (k, make) => {
        const dir = emptyDirectory();
        addDirectory(parseLdif(make(), k), k, new IdentityMap(), dir);
        return dir.people;
      };
      for (const [k, make] of Object.entries(shapes)) out[k] = read(k, make);
      let text = Array.from({ length: 20000 }, (_, i) => 'dn: cn=Person ' + i + ',ou=people,dc=example,dc=org\\ncn: Person Number ' + i + ' of the company\\nuid: person.number.' + i + '\\nmemberOf: cn=Group ' + (i % 20) + ',ou=groups,dc=example,dc=org\\ndescription: ' + 'x'.repeat(2000) + '\\n\\n').join('');
      const size = text.length;
      const map = new IdentityMap(), dir = emptyDirectory();
      addDirectory(parseLdif(text, 'f'), 'f', map, dir);
      text = undefined;
      /x/.exec('y'); // V8 keeps the last subject of a regular expression (RegExp.input) until the next match
      gc(); gc();
      globalThis.keep = [map, dir];
      out.size = size;
      out.heap = process.memoryUsage().heapUsed;
      out.people = dir.people;
      console.log(JSON.stringify(out));
    `;
    const r = spawnSync(process.execPath, ['--max-old-space-size=160', '--expose-gc', '-r', 'tsx/cjs', '-e', script], { cwd: REPO, encoding: 'utf8', timeout: 100_000, killSignal: 'SIGKILL' });
    assert.equal(r.status, 0, `${r.signal ?? ''} ${r.stderr.slice(-2000)}`);
    const out = JSON.parse(r.stdout);
    assert.deepEqual([out.empty, out.folded, out.comments, out.crOnly, out.longLine, out.people], [1, 1, 1, 20e3, 1, 20000]);
    assert.ok(out.heap < out.size / 3, `heap ${out.heap} after reading ${out.size} characters`);
  });

  it('end to end: the directory group allowed to use IRC raises no alert; someone outside it does, named by the directory', () => {
    write('ad3.ldf', AD);
    const pol = write('e2e.yaml', 'people: { ldif: ad3.ldf }\ngroups:\n  eng:\n    directory_groups: [Engineering]\n    allow: [{ protocols: [irc] }]\n');
    const c = new Capture();
    c.tcp('10.1.1.10:40001', '198.51.100.7:6667').open().send('c', 'NICK dortiz\r\nUSER dortiz 0 * :Dana\r\n').send('c', 'PRIVMSG #eng :build is green\r\n').close();
    c.tcp('10.1.1.11:40002', '198.51.100.7:6667').open().send('c', 'NICK jnunez\r\nUSER jnunez 0 * :Jose\r\n').send('c', 'PRIVMSG #x :hola\r\n').close();
    const r = shadowim(['analyze', '-', '--format', 'jsonl', '--policy', pol], { input: c.pcap() });
    assert.equal(r.status, 0, r.stderr);
    const alerts = r.events.filter((e) => e.type === 'alert' && e.kind === 'unauthorized_im');
    assert.equal(alerts.length, 1, JSON.stringify(alerts));
    assert.deepEqual(alerts[0].users, ['jnunez']);
    assert.equal(alerts[0].person, 'José Núñez');
    const check = shadowim(['policy', 'check', pol]);
    assert.equal(check.status, 0, check.stderr);
    assert.match(check.stdout, /Directory \(people\.ldif\): 2 people with \d+ identities, 2 groups\./);
    assert.match(check.stdout, /Engineering \(directory group, 1 person\)/);
  });
});
