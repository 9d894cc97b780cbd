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

/**
 * The entries of an LDIF file: `dn:` starts an entry, a blank line ends it; folded lines (a leading
 * space) continue the previous one; `name:: base64` values are decoded; `name:< url` values and
 * change records other than `changetype: add` are skipped; `#` lines are comments; `version: 1` is allowed first.
 */
export function parseLdif(text: string, file: string): LdifEntry[] {
  const lines = text.replace(/^\ufeff/, '').split(/\r?\n/);
  const out: LdifEntry[] = [];
  let cur: LdifEntry | undefined;
  let change = false;
  // unfold first: a line starting with one space continues the previous line (and a comment)
  const logical: Array<{ text: string; line: number }> = [];
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (l.startsWith(' ') && logical.length && logical[logical.length - 1].text !== '') {
      const last = logical[logical.length - 1];
      if (last.text.length < MAX_VALUE * 2) last.text += l.slice(1);
    } else logical.push({ text: l, line: i + 1 });
  }
  const end = () => {
    if (cur && !change) out.push(cur);
    cur = undefined;
    change = false;
  };
  for (const { text: l, line } of logical) {
    if (l === '') {
      end();
      continue;
    }
    if (l.startsWith('#')) continue;
    const colon = l.indexOf(':');
    if (colon <= 0) throw new Error(`${file}:${line}: not an LDIF line (expected "name: value")`);
    const name = l.slice(0, colon).trim().toLowerCase();
    let value: string;
    if (l[colon + 1] === ':') {
      const b64 = l.slice(colon + 2).trim();
      if (!/^[A-Za-z0-9+/=]*$/.test(b64)) throw new Error(`${file}:${line}: ${name}:: is not base64`);
      value = Buffer.from(b64, 'base64').toString('utf8');
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
    if (!cur) throw new Error(`${file}:${line}: "${name}:" before any "dn:" line`);
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

const groupKeys = (dn: string): string[] => {
  const d = dn.trim().toLowerCase();
  const cn = /^cn=((?:\\.|[^,])*)/.exec(d);
  return cn ? [d, cn[1].replace(/\\(.)/g, '$1').trim()] : [d];
};

/**
 * Adds the people of the LDIF entries to `map` and their group memberships to `dir`: a person entry
 * (objectClass person/user/inetOrgPerson, or any entry with a display name and an account) maps every
 * identity attribute to its displayName (else cn); groups come from the users' memberOf and from group
 * entries' member / uniqueMember (DNs) and memberUid (uids) values.
 */
export function addDirectory(entries: LdifEntry[], file: string, map: IdentityMap, dir: Directory): void {
  const byDn = new Map<string, string>();
  const byUid = new Map<string, string>();
  const memberOf: Array<[string, string]> = [];
  for (const e of entries) {
    const classes = (e.attrs.get('objectclass') ?? []).map((c) => c.toLowerCase());
    if (classes.includes('computer') || classes.includes('group') || classes.includes('groupofnames') || classes.includes('groupofuniquenames') || classes.includes('posixgroup')) continue;
    const person = (e.attrs.get('displayname') ?? e.attrs.get('cn') ?? [])[0]?.trim();
    if (!person) continue;
    let ids = 0;
    for (const a of ID_ATTRS) {
      for (let v of e.attrs.get(a) ?? []) {
        if (SCHEME.test(v)) {
          if (/^(x400|x500|eum|sms):/i.test(v)) continue;
          v = v.replace(SCHEME, '');
        }
        v = v.trim();
        if (!v || map.add(v, person) !== undefined) continue;
        ids++;
      }
    }
    if (!ids) continue;
    dir.people++;
    dir.identities += ids;
    byDn.set(e.dn.trim().toLowerCase(), person);
    for (const u of e.attrs.get('uid') ?? []) byUid.set(u.toLowerCase(), person);
    for (const u of e.attrs.get('samaccountname') ?? []) byUid.set(u.toLowerCase(), person);
    for (const g of e.attrs.get('memberof') ?? []) memberOf.push([g, person]);
  }
  const join = (groupDn: string, person: string) => {
    for (const k of groupKeys(groupDn)) {
      let s = dir.groups.get(k);
      if (!s) dir.groups.set(k, (s = new Set()));
      s.add(person);
    }
  };
  for (const [g, person] of memberOf) join(g, person);
  for (const e of entries) {
    const members = [...(e.attrs.get('member') ?? []), ...(e.attrs.get('uniquemember') ?? [])];
    const uids = e.attrs.get('memberuid') ?? [];
    if (!members.length && !uids.length) {
      // a group with no members is still a group a policy may name
      const classes = (e.attrs.get('objectclass') ?? []).map((c) => c.toLowerCase());
      if (classes.some((c) => c === 'group' || c === 'groupofnames' || c === 'groupofuniquenames' || c === 'posixgroup')) {
        for (const k of groupKeys(e.dn)) if (!dir.groups.has(k)) dir.groups.set(k, new Set());
      }
      continue;
    }
    for (const k of groupKeys(e.dn)) if (!dir.groups.has(k)) dir.groups.set(k, new Set());
    for (const m of members) {
      const p = byDn.get(m.trim().toLowerCase());
      if (p) join(e.dn, p);
    }
    for (const u of uids) {
      const p = byUid.get(u.trim().toLowerCase());
      if (p) join(e.dn, p);
    }
  }
  if (!dir.people) throw new Error(`${file}: no person with an account, mail or IM address in ${entries.length} LDIF entries (export users with displayName or cn and sAMAccountName, userPrincipalName, mail, uid or proxyAddresses)`);
}
