// Byte-level helpers of the detect paths and framers, against the plain definitions they replace.
import assert from 'node:assert/strict';
import { HeadBytes, headEnd, headerIn, requestLine } from '../../signatures/http/stream';
import { ByteQueue } from '../../signatures/text';
import { rng } from '../../common/rng';

// the RegExp definitions the byte code must agree with
function requestLineRe(b: Buffer): { method: string; target: string } | null {
  const nl = b.indexOf(0x0a);
  const line = b.toString('latin1', 0, nl < 0 ? Math.min(b.length, 2048) : Math.min(nl, 2048)).replace(/\r$/, '');
  const m = /^([A-Z]{3,10}) (\S+) HTTP\/1\.[01]/.exec(line);
  return m ? { method: m[1], target: m[2] } : null;
}
function headerRe(b: Buffer, name: string): string | undefined {
  const end = b.indexOf('\r\n\r\n');
  const text = b.toString('latin1', 0, end < 0 ? Math.min(b.length, 16384) : end);
  const m = new RegExp(`\\r\\n${name}:[ \\t]*([^\\r\\n]*)`, 'i').exec(text);
  return m ? m[1].trim() : undefined;
}

describe('signatures: byte helpers', () => {
  it('request line and header values read by bytes equal the RegExp reading', () => {
    const r = rng(5);
    const atoms = ['\r\n', '\r', '\n', 'Host', 'HOST', 'hOsT', 'Hoxt', 'User-Agent', 'content-type', 'Content-Length', 'X-MSN-Messenger', ':', ' ', '\t',
      'GET', 'CONNECT', ' / ', ' HTTP/1.1', 'HTTP/1.0', ' HTTP/1.2', 'x', '\u00e9', '\u00a0', '\u000b', '\u0085', '\r\n\r\n', '\u0000', 'ZZZZZZZZZZZ ', '-'];
    const names = ['host', 'user-agent', 'content-length', 'content-type', 'x-msn-messenger'];
    let lines = 0;
    for (let k = 0; k < 40000; k++) {
      let s = ['GET ', 'POST /x ', 'CONNECT a:1 HTTP/1.1\r\n', 'HTTP/1.1 200 OK\r\n', ''][k % 5];
      const len = Math.floor(r() * 30);
      for (let i = 0; i < len; i++) s += atoms[Math.floor(r() * atoms.length)];
      const b = Buffer.from(s, 'latin1');
      const want = requestLineRe(b);
      if (want) lines++;
      assert.deepEqual(requestLine(b), want, JSON.stringify(s));
      assert.equal(headEnd(b), b.indexOf('\r\n\r\n'));
      const head = new HeadBytes(b);
      assert.equal(head.end, b.indexOf('\r\n\r\n'));
      for (const n of names) {
        assert.equal(head.header(n), headerRe(b, n), `${n} in ${JSON.stringify(s)}`);
        assert.equal(headerIn(b, n), headerRe(b, n));
      }
    }
    assert.ok(lines > 1000, `only ${lines} request lines generated`);
    // the 16 KiB window of an incomplete head
    const long = Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(16360)}\r\nHost: h\r\n`, 'latin1');
    for (const cut of [16380, 16390, 16395, 16400, long.length]) assert.equal(new HeadBytes(long.subarray(0, cut)).header('host'), headerRe(long.subarray(0, cut), 'host'));
  });

  it('ByteQueue holds exactly what was pushed and not consumed, and gives big storage back when drained', () => {
    const r = rng(9);
    const q = new ByteQueue();
    let model = Buffer.alloc(0);
    for (let k = 0; k < 5000; k++) {
      if (r() < 0.6) {
        const b = Buffer.from(Array.from({ length: Math.floor(r() * (r() < 0.05 ? 5000 : 300)) }, () => Math.floor(r() * 256)));
        q.push(b);
        model = Buffer.concat([model, b]);
      } else {
        const n = Math.floor(r() * (model.length + 10));
        q.consume(n);
        model = model.subarray(Math.min(n, model.length));
      }
      assert.equal(q.length, model.length);
      assert.ok(q.view().equals(model));
    }
    q.push(Buffer.alloc(200000));
    q.consume(q.length);
    assert.equal(q.length, 0);
    assert.equal((q as unknown as { buf: Buffer }).buf.length, 0);
  });
});
