// The company directory as an LDIF export (RFC 2849), from Active Directory (`ldifde -f users.ldf`) or
// any LDAP server (`ldapsearch -LLL … > users.ldif`): who is who (IM identities → person) and who is in
// which directory group, so that a policy can name the groups the company already keeps.
//
// Read once when the policy loads; a file an administrator exported, but still read defensively: bounded
// entries and values, unknown syntax skipped, nothing thrown but a one-line error naming the file and line.
import type { IdentityMap } from './identity';

/** one entry: its DN and its attributes, names lower-cased, values in file order */
export interface LdifEntry {
  dn: string;
  attrs: Map<string, string[]>;
  line: number;
}

const MAX_ENTRIES = 1_000_000;
const MAX_VALUE = 64 * 1024;
/** base64 characters decoded at most (what decodes to more is cut to MAX_VALUE anyway) */
const MAX_BASE64 = Math.ceil(MAX_VALUE / 3) * 4 + 4;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** control and line-separator characters replaced: what is printed stays on one line */
const clean = (s: string) => s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
/** a name from the file as an error shows it */
const shown = (s: string) => clean(s.length > 40 ? `${s.slice(0, 40)}…` : s);

/**
 * The entries of an LDIF file: `dn:` starts an entry, a blank line ends it; folded lines (a leading
 * space) continue the previous one; `name:: base64` values are decoded (values that are not UTF-8 text,
 * photos, GUIDs, SIDs, certificates, are left out: no name or address is binary); `name:< url` values
 * and change records other than `changetype: add` are skipped; `#` lines are comments; `version: 1` is
 * allowed first; attribute options are dropped (`member;range=0-1499` is `member`). Lines end in LF,
 * CRLF or a lone CR. Read in one pass over the text: no array of lines (a file of millions of empty or
 * folded lines costs no more memory than the entries it holds).
 */
export function parseLdif(text: string, file: string): LdifEntry[] {
  const out: LdifEntry[] = [];
  let cur: LdifEntry | undefined;
  let change = false;
  const n = text.length;
  let pos = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let lineNo = 0;
  // next LF and CR at or after pos (-1: none left): searched again only once passed, so a file with
  // only one kind of line end is not searched to its end for the other at every line
  let lf = -2, cr = -2;
  let lineEnd = 0; // end of the physical line just read (before its line end)
  const nextLine = (): void => {
    if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos);
    if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
    let e = lf < 0 ? n : lf;
    if (cr >= 0 && cr < e) e = cr;
    lineEnd = e;
    pos = e >= n ? n + 1 : e + (text.charCodeAt(e) === 13 && text.charCodeAt(e + 1) === 10 ? 2 : 1);
    lineNo++;
  };
  const end = () => {
    if (cur && !change) out.push(cur);
    cur = undefined;
    change = false;
  };
  while (pos < n) {
    const start = pos;
    nextLine();
    const line = lineNo;
    let l = text.slice(start, lineEnd);
    // folded: each next line starting with one space continues this one (a comment too)
    while (pos < n && text.charCodeAt(pos) === 32 && l !== '') {
      const s = pos + 1;
      nextLine();
      if (l.length < MAX_VALUE * 2) l += text.slice(s, lineEnd);
    }
    // a line of blanks where an empty one belongs (editors and some exports leave them) separates too
    if (l === '' || (l.charCodeAt(0) <= 32 && l.trim() === '')) {
      end();
      continue;
    }
    if (l.charCodeAt(0) === 35) continue; // #
    if (change) continue; // the rest of a change record (a modify record's "-" lines are no "name: value")
    const colon = l.indexOf(':');
    if (colon <= 0) throw new Error(`${file}:${line}: not an LDIF line (expected "name: value")`);
    let name = l.slice(0, colon).trim().toLowerCase();
    const semi = name.indexOf(';');
    if (semi > 0) name = name.slice(0, semi);
    let value: string;
    if (l[colon + 1] === ':') {
      let b64 = l.slice(colon + 2).trim();
      if (!/^[A-Za-z0-9+/=]*$/.test(b64)) throw new Error(`${file}:${line}: ${shown(name)}:: is not base64`);
      const cut = b64.length > MAX_BASE64;
      if (cut) b64 = b64.slice(0, MAX_BASE64);
      const bytes = Buffer.from(b64, 'base64');
      if (name === 'dn') value = bytes.toString('utf8');
      else {
        try {
          // a value cut short may end inside a character: streaming leaves that one out
          value = cut ? new TextDecoder('utf-8', { fatal: true }).decode(bytes, { stream: true }) : utf8.decode(bytes);
        } catch {
          if (!cur) throw new Error(`${file}:${line}: "${shown(name)}:" before any "dn:" line`);
          continue; // binary
        }
      }
    } else if (l[colon + 1] === '<') {
      continue; // a value by URL: not fetched
    } else value = l.slice(colon + 1).trim();
    if (value.length > MAX_VALUE) value = value.slice(0, MAX_VALUE);
    if (name === 'version' && !cur) continue;
    if (name === 'dn') {
      end();
      if (out.length >= MAX_ENTRIES) throw new Error(`${file}:${line}: more than ${MAX_ENTRIES} entries`);
      cur = { dn: value, attrs: new Map(), line };
      continue;
    }
    if (!cur) throw new Error(`${file}:${line}: "${shown(name)}:" before any "dn:" line`);
    if (name === 'changetype') {
      // ldifde writes every entry as "changetype: add" (its attributes follow as in a content record);
      // modify, delete and modrdn records describe changes, not people
      if (value.toLowerCase() !== 'add') change = true;
      continue;
    }
    const list = cur.attrs.get(name);
    if (list) list.push(value);
    else cur.attrs.set(name, [value]);
  }
  end();
  return out;
}

/** what a directory adds to a policy */
export interface Directory {
  /** directory group (its DN and its CN, lower case) → the people in it */
  groups: Map<string, Set<string>>;
  /** people with at least one identity */
  people: number;
  identities: number;
}

export function emptyDirectory(): Directory {
  return { groups: new Map(), people: 0, identities: 0 };
}

// attributes that name a user's IM identities and accounts (AD, Exchange, Lync/Skype for Business/Teams, inetOrgPerson)
const ID_ATTRS = ['samaccountname', 'userprincipalname', 'mail', 'uid', 'msrtcsip-primaryuseraddress', 'proxyaddresses', 'othermailbox', 'jabberid'];
// proxyAddresses and SIP addresses carry a scheme; X.400/X.500 addresses are not IM identities
const SCHEME = /^(smtp|sip|xmpp|im|x400|x500|eum|sms):/i;

/** an attribute value kept for good: a copy, since V8 keeps the whole file alive behind a substring */
const own = (v: string): string => (v.length < 13 ? v : Buffer.from(v, 'utf8').toString('utf8'));

const hex = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);

/** an RDN value with its escapes undone (RFC 4514: \, \+ … and hex pairs such as \2C, UTF-8 \C3\A9) */
function unescapeDn(v: string): string {
  if (!v.includes('\\')) return v;
  let out = '';
  let bytes: number[] = [];
  for (let i = 0; i < v.length; i++) {
    if (v.charCodeAt(i) === 92 && hex(v.charCodeAt(i + 1)) && hex(v.charCodeAt(i + 2))) {
      bytes.push(parseInt(v.slice(i + 1, i + 3), 16));
      i += 2;
      continue;
    }
    if (bytes.length) {
      out += Buffer.from(bytes).toString('utf8');
      bytes = [];
    }
    if (v.charCodeAt(i) === 92 && i + 1 < v.length) i++;
    out += v[i];
  }
  return bytes.length ? out + Buffer.from(bytes).toString('utf8') : out;
}

/**
 * A DN for comparing DNs: lower case, each RDN value unescaped and trimmed, no spaces around the
 * separators (`uid=kim, ou=People` and `UID=kim,ou=people` are one DN; `cn=Doe\, J` and `cn=Doe\2C J`
 * too). One pass, no backtracking: member lists can be long and DNs hostile.
 */
function normalDn(dn: string): string {
  const d = dn.trim().toLowerCase();
  if (!d.includes('\\') && !d.includes(' ')) return d;
  let out = '';
  let from = 0; // start of the current type=value
  let eq = -1;
  for (let i = 0; i <= d.length; i++) {
    const c = d.charCodeAt(i);
    if (c === 92) {
      i++; // the escaped character (a hex pair's second digit is an ordinary character)
      continue;
    }
    if (c === 61 && eq < 0) eq = i;
    else if (i === d.length || c === 44 || c === 43 || c === 59) {
      const type = (eq < 0 ? d.slice(from, i) : d.slice(from, eq)).trim();
      const value = eq < 0 ? '' : unescapeDn(d.slice(eq + 1, i).trim()).replace(/[\\,+;=]/g, '\\$&');
      out += `${type}=${value}${i === d.length ? '' : c === 43 ? '+' : ','}`;
      from = i + 1;
      eq = -1;
    }
  }
  return out;
}

/** a group's names in the directory: its DN compared as DNs are (normalDn), and its CN unescaped (both lower case) */
function groupKeys(dn: string): [string, string?] {
  const d = dn.trim().toLowerCase();
  const cn = /^cn\s*=((?:\\.|[^,+])*)/.exec(d); // no backtracking: nothing follows the repetition
  const name = cn ? unescapeDn(cn[1].trim()).trim() : '';
  // one key however a DN is spelled (memberOf values and the group's own dn: may differ in spaces or
  // escapes); keys are names a policy writes and its one-line errors print: no control characters
  const key = own(clean(normalDn(d)));
  return name ? [key, own(clean(name))] : [key];
}

/** the key of a directory group a policy names: a DN (it has an =) as groupKeys makes it, else a CN */
export function directoryGroupKey(name: string): string {
  const n = name.trim().toLowerCase();
  return n.includes('=') ? clean(normalDn(n)) : n;
}

/** the sets of people that are a group DN's own (a CN key may share one) */
const dnSets = new WeakSet<Set<string>>();

/**
 * Adds the people of the LDIF entries to `map` and their group memberships to `dir`: a person entry
 * (objectClass person/user/inetOrgPerson, or any entry with a display name and an account) maps every
 * identity attribute to its displayName (else cn); groups come from the users' memberOf and from group
 * entries' member / uniqueMember (DNs, compared unescaped: see normalDn) and memberUid (uids) values.
 */
export function addDirectory(entries: LdifEntry[], file: string, map: IdentityMap, dir: Directory): void {
  const byDn = new Map<string, string>();
  const byUid = new Map<string, string>();
  // a group DN is named by thousands of memberOf and member values: its keys worked out once
  const keysOf = new Map<string, [string, string?]>();
  const keys = (dn: string) => {
    let k = keysOf.get(dn);
    if (!k) keysOf.set(dn, (k = groupKeys(dn)));
    return k;
  };
  const groups = dir.groups;
  // a group's DN and CN keys share one set of people, unless another group has the same CN: then
  // the CN gets a set of its own, the union (half the sets and adds of a key each: memberships are
  // the bulk of a large directory)
  const sets = (groupDn: string): [Set<string>, Set<string> | undefined] => {
    const [d, cn] = keys(groupDn);
    let s = groups.get(d);
    if (!s) {
      groups.set(d, (s = new Set()));
      dnSets.add(s);
    }
    if (cn === undefined) return [s, undefined];
    let c = groups.get(cn);
    if (!c) groups.set(cn, (c = s));
    else if (c !== s && dnSets.has(c)) groups.set(cn, (c = new Set(c)));
    return [s, c === s ? undefined : c];
  };
  const join = (groupDn: string, person: string) => {
    const [s, c] = sets(groupDn);
    s.add(person);
    c?.add(person);
  };
  for (const e of entries) {
    const classes = (e.attrs.get('objectclass') ?? []).map((c) => c.toLowerCase());
    if (classes.includes('computer') || classes.includes('group') || classes.includes('groupofnames') || classes.includes('groupofuniquenames') || classes.includes('posixgroup')) continue;
    let person = (e.attrs.get('displayname') ?? e.attrs.get('cn') ?? [])[0]?.trim();
    if (!person) continue;
    person = own(person);
    let ids = 0;
    for (const a of ID_ATTRS) {
      for (let v of e.attrs.get(a) ?? []) {
        if (SCHEME.test(v)) {
          if (/^(x400|x500|eum|sms):/i.test(v)) continue;
          v = v.replace(SCHEME, '');
        }
        v = v.trim();
        if (!v || map.add(own(v), person) !== undefined) continue;
        ids++;
      }
    }
    if (!ids) continue;
    dir.people++;
    dir.identities += ids;
    byDn.set(normalDn(e.dn), person);
    for (const u of e.attrs.get('uid') ?? []) byUid.set(u.trim().toLowerCase(), person);
    for (const u of e.attrs.get('samaccountname') ?? []) byUid.set(u.trim().toLowerCase(), person);
    for (const g of e.attrs.get('memberof') ?? []) join(g, person);
  }
  const normal = new Map<string, string>(); // one person is a member of many groups
  const personOf = (dn: string) => {
    let d = normal.get(dn);
    if (d === undefined) normal.set(dn, (d = normalDn(dn)));
    return byDn.get(d);
  };
  for (const e of entries) {
    const members = e.attrs.get('member') ?? [];
    const unique = e.attrs.get('uniquemember') ?? [];
    const uids = e.attrs.get('memberuid') ?? [];
    if (!members.length && !unique.length && !uids.length) {
      // a group with no members is still a group a policy may name
      const classes = (e.attrs.get('objectclass') ?? []).map((c) => c.toLowerCase());
      if (classes.some((c) => c === 'group' || c === 'groupofnames' || c === 'groupofuniquenames' || c === 'posixgroup')) {
        sets(e.dn);
      }
      continue;
    }
    sets(e.dn);
    for (const list of [members, unique]) {
      for (const m of list) {
        const p = personOf(m);
        if (p) join(e.dn, p);
      }
    }
    for (const u of uids) {
      const p = byUid.get(u.trim().toLowerCase());
      if (p) join(e.dn, p);
    }
  }
  if (!dir.people) throw new Error(`${file}: no person with an account, mail or IM address in ${entries.length} LDIF entries (export users with displayName or cn and sAMAccountName, userPrincipalName, mail, uid or proxyAddresses)`);
}
