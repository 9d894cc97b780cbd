// CEF extensions with hostile values at the length cap and with Unicode line breaks, read back by a
// parser that follows the CEF spec: a backslash in an extension value starts \\ \= \n or \r, nothing else.
import assert from 'node:assert/strict';
import { cef } from '../../outputs/sinks/formats';
import type { AlertEvent } from '../../common/events';

/** CEF extension key=value pairs; throws on a backslash that starts no escape the spec defines. */
function cefExtension(line: string): Record<string, string> {
  let rest = line;
  for (let i = 0; i < 7; i++) rest = rest.slice(rest.match(/^(?:[^|\\]|\\.)*\|/)![0].length);
  const out: Record<string, string> = {};
  let key = '';
  let val = '';
  const keyAt = (i: number) => /^ ([A-Za-z0-9_]+)=/.exec(rest.slice(i));
  const first = /^([A-Za-z0-9_]+)=/.exec(rest)!;
  key = first[1];
  for (let i = first[0].length; i < rest.length; i++) {
    const c = rest[i];
    if (c === '\\') {
      const n = rest[i + 1];
      if (!n || !'\\=nr'.includes(n)) throw new Error(`stray backslash before ${JSON.stringify(n)} in ${key} at ${i}`);
      val += n === 'n' ? '\n' : n === 'r' ? '\r' : n;
      i++;
      continue;
    }
    const m = c === ' ' ? keyAt(i) : null;
    if (m) {
      out[key] = val;
      key = m[1];
      val = '';
      i += m[0].length - 1;
      continue;
    }
    if (c === '=') throw new Error(`unescaped = in ${key} at ${i}`);
    val += c;
  }
  out[key] = val;
  return out;
}

const base: AlertEvent = {
  type: 'alert', id: 'a1b2c3', ts: '2024-01-15T09:30:00.000Z', kind: 'unauthorized_im', severity: 'high', protocol: 'irc',
  summary: 'x', users: ['eve', 'bob'], client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '198.51.100.7', port: 6667 },
};

describe('CEF with hostile values', () => {
  it('a value cut at the length cap never ends in half an escape that swallows the next field', () => {
    for (const tail of ['=', '\\', '\n', '\r\n']) {
      for (let pad = 3990; pad <= 4001; pad++) {
        const s = cef({ ...base, summary: 'a'.repeat(pad) + tail + 'b'.repeat(10) });
        const ext = cefExtension(s);
        assert.equal(ext.src, '10.0.0.1', `pad ${pad}, ${JSON.stringify(tail)}: src kept`);
        assert.equal(ext.cs1, 'a1b2c3');
        assert.ok(ext.msg.length <= 4000 && ext.msg.startsWith('a'.repeat(Math.min(pad, 4000))));
      }
    }
  });

  it('Unicode line and paragraph separators and C1 controls (NEL) do not reach the line', () => {
    const s = cef({ ...base, summary: 'one\u2028two\u2029three\u0085four', users: ['e\u2028ve', 'b\u0085ob'] });
    assert.doesNotMatch(s, /[\u0080-\u009f\u2028\u2029\r\n]/);
    const ext = cefExtension(s);
    assert.equal(ext.msg, 'one two three four');
    assert.equal(ext.suser, 'e ve');
  });
});
