// The users parameter of the RFC 5424 structured data: names joined by ',', a ',' or '\' inside a name
// escaped with '\' (docs/integrations.md Escaping), read back as a receiver would.
import assert from 'node:assert/strict';
import { rfc5424 } from '../../outputs/sinks/formats';
import type { AlertEvent } from '../../common/events';
import { parse5424 } from '../helpers/siem';

const base: AlertEvent = { type: 'alert', id: 'a1', ts: '2024-01-15T09:30:00.000Z', kind: 'unauthorized_im', severity: 'high', protocol: 'xmpp', summary: 's', users: [], client: { ip: '10.0.0.1', port: 1 } };

/** the users as a receiver reads them: split at a ',' not escaped, then unescaped */
function users(line: string): string[] {
  const v = parse5424(line).sd[0].params.users;
  return (v.match(/(?:\\.|[^,\\])+/g) ?? []).map((u) => u.replace(/\\(.)/g, '$1'));
}
const line = (u: string[]) => rfc5424({ ...base, users: u }, { facility: 16, payload: 'text' });

describe('syslog structured data: users', () => {
  it('a screen name with a comma or a backslash is one user, not two', () => {
    assert.deepEqual(users(line(['mallory,ceo'])), ['mallory,ceo']);
    assert.deepEqual(users(line(['mallory', 'ceo'])), ['mallory', 'ceo']);
    assert.deepEqual(users(line(['a\\', 'b\\,c', 'd"]'])), ['a\\', 'b\\,c', 'd"]']);
  });

  it('users cut to fit the structured data never end in half an escape', () => {
    for (let pad = 0; pad < 8; pad++) {
      // long names of commas: the cut falls between a backslash and what it escapes for some pad
      const u = Array.from({ length: 32 }, (_, i) => `${'x'.repeat(pad + i)}${',\\'.repeat(60)}`);
      const sd = parse5424(line(u)).sd[0].params.users;
      assert.ok(sd.length > 0);
      assert.doesNotMatch(sd, /(^|[^\\])(\\\\)*\\$/, `pad ${pad}: ends in a lone backslash`);
    }
  });
});
