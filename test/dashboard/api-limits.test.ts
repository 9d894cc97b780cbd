// What the API answers at its edges, asserted on what a client sees (status, body) and on what the server
// process holds (its open descriptors): aborted downloads, large pages and exports, file listings past
// 500, protocol names that are Object.prototype's.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ShadowEvent } from '../../common/events';
import { Quarantine } from '../../analyzer/files/quarantine';
import { dashboardInProcess, type InProc } from './inproc';

const ago = (min: number) => new Date(Date.now() - min * 60_000).toISOString();

/** quarantines a file of `bytes` captured at `ts`; returns its sha256 */
function quarantine(q: Quarantine, dir: string, name: string, bytes: Buffer, ts: string): string {
  const src = path.join(dir, `src-${crypto.randomBytes(6).toString('hex')}`);
  fs.writeFileSync(src, bytes);
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  q.store(src, { type: 'file_transfer', ts, protocol: 'irc', from: 'a', to: 'b', filename: name, size: bytes.length, stage: 'data', sha256, md5: crypto.createHash('md5').update(bytes).digest('hex'), complete: true, verdict: 'clean' } as ShadowEvent as any, bytes.length);
  return sha256;
}

describe('dashboard: API edges', function () {
  this.timeout(120_000);
  let tmp: string;
  let s: InProc | undefined;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-edges-'))));
  afterEach(async () => {
    await s?.stop();
    s = undefined;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a quarantine download the client aborts closes its file (was: one descriptor leaked per abort)', async () => {
    const qdir = path.join(tmp, 'quarantine');
    const sha256 = quarantine(new Quarantine(qdir, 1 << 30, 1000), tmp, 'big.bin', crypto.randomBytes(8 << 20), ago(60));
    s = await dashboardInProcess([], { quarantineDir: qdir });
    const a = await s.login('analyst');
    const cookie = [...a.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const port = Number(new URL(s.url).port);
    const open = () => fs.readdirSync('/proc/self/fd').filter((f) => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${f}`).startsWith(qdir);
      } catch {
        return false;
      }
    }).length;
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((done) => {
        const sock = net.connect(port, '127.0.0.1', () => sock.write(`GET /api/files/${sha256}/download HTTP/1.1\r\nHost: x\r\nCookie: ${cookie}\r\n\r\n`));
        sock.once('data', () => {
          sock.destroy();
          done();
        });
      });
    }
    // the server notices each closed socket on its next turns: wait until it has, or give up after 10 s
    for (let i = 0; i < 100 && open() > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(open(), 0, 'quarantined files still open after 20 aborted downloads');
    // and a whole download still works
    const r = await a.req('GET', `/api/files/${sha256}/download`);
    assert.equal(r.status, 200);
    assert.equal(crypto.createHash('sha256').update(r.buf).digest('hex'), sha256);
  });
});

describe('dashboard: /api/files over a quarantine', function () {
  this.timeout(120_000);
  let tmp: string;
  let s: InProc | undefined;
  before(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-files-'))));
  after(async () => {
    await s?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('a file of an old capture is listed for its range behind 500 quarantined after it; total and paging', async () => {
    const qdir = path.join(tmp, 'quarantine');
    const q = new Quarantine(qdir, 1 << 30, 10_000);
    quarantine(q, tmp, 'old-2019.doc', Buffer.from('old-2019.doc'), '2019-06-01T10:00:00.000Z');
    await new Promise((r) => setTimeout(r, 5)); // stored strictly before the others
    for (let i = 0; i < 500; i++) quarantine(q, tmp, `recent-${i}.txt`, Buffer.from(`recent-${i}`), ago(60 + i));
    s = await dashboardInProcess([], { quarantineDir: qdir });
    const a = await s.login('analyst');
    const old = await a.req('GET', '/api/files?from=2019-01-01&to=2020-01-01');
    assert.equal(old.status, 200);
    assert.deepEqual(old.json.rows.map((f: any) => f.filename), ['old-2019.doc']);
    assert.equal(old.json.total, 1);
    const page = await a.req('GET', '/api/files?range=1d&limit=200&offset=400');
    assert.equal(page.json.total, 500);
    // newest capture first: recent-0 (60 min ago) … recent-499
    assert.deepEqual(page.json.rows.map((f: any) => f.filename), Array.from({ length: 100 }, (_, i) => `recent-${400 + i}.txt`));
  });
});

describe('dashboard: large message pages and exports', function () {
  this.timeout(300_000);
  let s: InProc;
  const N = 1100;
  const long = (i: number) => `${'a'.repeat(65536 - 8)}${String(i).padStart(8, '0')}`;
  before(async () => {
    const ev: ShadowEvent[] = [];
    for (let i = 0; i < N; i++) ev.push({ type: 'message', ts: new Date(Date.now() - 3600_000 + i).toISOString(), protocol: 'irc', from: `m${i}`, to: 'b', text: long(i), flow_id: 'f' } as ShadowEvent);
    s = await dashboardInProcess(ev);
  });
  after(async () => s?.stop());

  it('a JSON page holds at most 1000 messages, whatever limit asks; total and offset give the rest', async () => {
    const a = await s.login('analyst');
    const r = await a.req('GET', '/api/messages?range=7d&limit=100000');
    assert.equal(r.status, 200);
    assert.equal(r.json.total, N);
    assert.equal(r.json.rows.length, 1000);
    const rest = await a.req('GET', '/api/messages?range=7d&limit=100000&offset=1000');
    assert.equal(rest.json.rows.length, N - 1000);
    assert.equal(rest.json.rows.at(-1).text, long(0));
  });

  it('the CSV export cuts each text and stops at its byte bound with a last row saying so', async () => {
    const a = await s.login('analyst');
    const r = await a.req('GET', '/api/messages.csv?range=7d');
    assert.equal(r.status, 200);
    const lines = r.text.trimEnd().split('\r\n');
    assert.equal(lines[0], 'ts,sensor,protocol,from,to,direction,text,zone');
    const data = lines.slice(1, -1);
    assert.ok(data.length > 100 && data.length < N, `${data.length} rows`);
    for (const l of data) assert.match(l, /,a{32000} \[… 33536 more characters: the whole text is in the console\],/);
    // newest first: the first row is the last message written
    assert.match(data[0], new RegExp(`^[^,]+,s1,irc,m${N - 1},b,`));
    assert.equal(lines.at(-1), `[export stopped after ${data.length} messages: an export holds at most 10000 messages and 32 MiB; narrow the range or the search for the rest]`);
    assert.ok(r.buf.length < (32 << 20) + 40_000, `${r.buf.length} bytes`);
  });
});

describe('dashboard: protocol names that are Object.prototype\'s', function () {
  this.timeout(60_000);
  it('/api/overview answers for sessions of protocol __proto__ and constructor (was: a 500)', async () => {
    const t = ago(30);
    const session = (protocol: string, bytes: number): ShadowEvent => ({ type: 'session', ts: t, protocol, transport: 'tcp', client: { ip: '10.0.0.1', port: 1 }, server: { ip: '1.1.1.1', port: 2 }, users: ['u'], start: t, end: t, packets: 1, bytes, encrypted: false, evidence: [] });
    const s = await dashboardInProcess([session('__proto__', 5), session('constructor', 7), session('irc', 11)]);
    try {
      const v = await s.login('viewer');
      const r = await v.req('GET', '/api/overview?range=24h');
      assert.equal(r.status, 200, r.text);
      // JSON.parse makes "__proto__" an own property, as any other key
      const totals = r.json.totals;
      assert.equal(Object.getOwnPropertyDescriptor(totals, '__proto__')?.value.bytes, 5);
      assert.equal(Object.getOwnPropertyDescriptor(totals, 'constructor')?.value.bytes, 7);
      assert.equal(totals.irc.bytes, 11);
      assert.equal(({} as any).sessions, undefined, 'Object.prototype untouched');
    } finally {
      await s.stop();
    }
  });
});
