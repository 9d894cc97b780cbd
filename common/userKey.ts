// A user as the users page, the report and the `user` filters name them. XMPP names one account by its
// bare JID (local@domain) and each of its connections by a resource (local@domain/laptop); a session
// reports both, and a person on a laptop and a phone is still one user. Elsewhere the name is as seen.
// storage/queries.ts userSql is the SQL twin (same rule on stored rows).

/** Protocols whose user names are JIDs */
const JID_PROTOCOLS = new Set(['xmpp']);

/** `user` as the users page groups it: an XMPP full JID without its resource; anything else unchanged */
export function userName(protocol: string | undefined, user: string): string {
  return protocol && JID_PROTOCOLS.has(protocol) ? bareJid(user) : user;
}

/** A JID without its resource (local@domain/laptop → local@domain); a bare JID or a non-JID unchanged */
export function bareJid(user: string): string {
  const at = user.indexOf('@');
  const slash = user.indexOf('/');
  // local@domain/resource; a resource may itself hold '@' or '/' (a MUC nick), so the first '/' after '@'
  return at > 0 && slash > at + 1 ? user.slice(0, slash) : user;
}

/** The distinct user names of a list, grouped as userName does, in first-seen order */
export function userNames(protocol: string | undefined, users: readonly unknown[]): string[] {
  const out: string[] = [];
  for (const u of users) {
    if (!u) continue;
    const n = userName(protocol, String(u));
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

export const JID_PROTOCOL_LIST = [...JID_PROTOCOLS];
