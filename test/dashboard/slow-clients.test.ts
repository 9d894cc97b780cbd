// Slow clients against the real `shadowim serve`: a client that sends its headers a line at a time
// and never finishes (slowloris) is cut off at the header limit, while the console keeps answering
// others. The limit is 15 s; SHADOWIM_DASH_HEADERS_TIMEOUT_MS makes it 1 s here. Before the limits
// (Node's defaults, 60 s checked every 30 s) such a connection stayed open past this test's deadline.
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServe, type Served } from './serve';
import { Client, makeFixture, PASSWORDS, type Fixture } from './setup';

describe('dashboard: slow clients are cut off', function () {
  this.timeout(30_000);
  let fx: Fixture;
  let srv: Served;

  before(async () => {
    fx = await makeFixture();
    srv = await startServe(['--store', fx.store], { env: { SHADOWIM_DASH_HEADERS_TIMEOUT_MS: '1000' } });
  });
  after(async () => {
    await srv?.stop();
    fx?.cleanup();
  });

  it('a request whose headers never end is closed (408), and a normal client is served meanwhile', async () => {
    const u = new URL(srv.url);
    const sock = net.connect(Number(u.port), u.hostname);
    let answer = '';
    sock.setEncoding('utf8');
    sock.on('data', (d) => (answer += d));
    sock.on('error', () => {});
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write('GET /api/session HTTP/1.1\r\nHost: localhost\r\n');
    // a header line every 200 ms, for as long as the connection lasts (the deadline is mocha's)
    let n = 0;
    const drip = setInterval(() => sock.writable && sock.write(`X-Slow-${n++}: a\r\n`), 200);
    try {
      const admin = new Client(srv.url);
      assert.equal(await admin.login('admin', PASSWORDS.admin), 200, 'served while the slow client waits');
      await new Promise<void>((r) => sock.once('close', () => r()));
    } finally {
      clearInterval(drip);
      sock.destroy();
    }
    assert.match(answer, /^HTTP\/1\.1 408 /, 'told why');
  });
});
