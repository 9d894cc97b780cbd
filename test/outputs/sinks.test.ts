// Alert delivery to SIEMs: formats and their escaping, the Standard Webhooks signature checked by an
// independent verifier written from the spec, and delivery that never loses an alert — a receiver
// that is down, slow, answering 500, then back; a sender killed with SIGKILL; dead letters — plus a
// real rsyslog on loopback receiving RFC 5424 over UDP, TCP and TLS.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ircUsersCapture, webhookConfig } from '../helpers/sinks';
import { CLI } from '../helpers/paths';
import { shadowimAsync as shadowim } from '../helpers/run';
import { cef, ecs, leef, rfc5424 } from '../../outputs/sinks/formats';
import { parseSinks } from '../../outputs/sinks/config';
import { backoffMs } from '../../outputs/sinks/outbox';
import { httpPost, SyslogClient } from '../../outputs/sinks/transports';
import type { AlertEvent } from '../../common/events';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-sinks-'));
const SECRET = 'whsec_' + Buffer.from('a test secret of 24 bytes!').toString('base64');

const HOSTILE: AlertEvent = {
  type: 'alert', id: 'a1b2c3', ts: '2024-01-15T09:30:00.000Z', kind: 'sensitive_data', severity: 'high', protocol: 'irc',
  summary: 'card | pipe ] bracket "quote" = eq \\ back\nCEF:0|fake|line\r\n<13>1 2024 injected',
  users: ['eve|x=1', 'bob'], client: { ip: '10.0.0.1', port: 40000 }, server: { ip: '198.51.100.7', port: 6667 },
  detector: 'pan', match: '************1111',
};

/** Standard Webhooks verification, written from the spec (not the product's code). */
function specVerify(secret: string, h: http.IncomingHttpHeaders, body: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signed = `${h['webhook-id']}.${h['webhook-timestamp']}.${body}`;
  const expected = crypto.createHmac('sha256', key).update(signed).digest('base64');
  return String(h['webhook-signature']).split(' ').some((s) => s === `v1,${expected}`);
}

/** `users` IRC users, each saying hello on #ops */
const ircCapture = (file: string, users: number) => ircUsersCapture(file, users, (i) => `hello from user${i}`);

/** A webhook receiver whose behaviour the test changes: 'down' (closed), 'slow', 'fail' (500), 'ok', 'reject' (400). */
class Receiver {
  mode: 'ok' | 'slow' | 'fail' | 'reject' = 'ok';
  got: { id: string; body: any; verified: boolean }[] = [];
  private server: http.Server | undefined;
  constructor(readonly port: number) {}
  start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        if (this.mode === 'slow') return void setTimeout(() => res.destroyed || res.end('late'), 3000);
        if (this.mode === 'fail') return void res.writeHead(500).end('server error');
        if (this.mode === 'reject') return void res.writeHead(400).end('bad request');
        this.got.push({ id: String(req.headers['webhook-id']), body: JSON.parse(body), verified: specVerify(SECRET, req.headers, body) });
        res.writeHead(204).end();
      });
    });
    return new Promise((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
  }
  stop(): Promise<void> {
    return new Promise((r) => (this.server ? (this.server.closeAllConnections(), this.server.close(() => r())) : r()));
  }
}

function freePort(): Promise<number> {
  return new Promise((r) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => r(p));
    });
  });
}

/** the signed webhook on `port`, quick retries; `extra`: more lines of the target */
function writeConfig(name: string, port: number, extra = ''): string {
  return webhookConfig(tmp, name, port, `      secret: ${SECRET}\n      timeout_ms: 500\n${extra}`, '    base_ms: 50\n    max_ms: 300\n    max_attempts: 1000\n    drain_ms: 300\n');
}

describe('alert sinks', function () {
  this.timeout(120000);

  describe('formats', () => {
    it('CEF escapes header pipes and extension equals, backslashes and line breaks', () => {
      const s = cef(HOSTILE);
      assert.equal(s.split('\n').length, 1);
      // the header is the first 7 unescaped pipes; the extension may contain plain pipes
      const header: string[] = [];
      let rest = s;
      for (let i = 0; i < 7; i++) {
        const m = rest.match(/^((?:[^|\\]|\\.)*)\|/)!;
        header.push(m[1]);
        rest = rest.slice(m[0].length);
      }
      header.push(rest);
      assert.equal(header[0], 'CEF:0');
      assert.match(header[5], /card \\\| pipe/);
      assert.match(s, / msg=card \| pipe \] bracket "quote" \\= eq \\\\ back\\nCEF:0\|fake\|line\\n<13>1 2024 injected$/, 'the summary, free text, comes last');
      assert.match(s, / suser=eve\|x\\=1 /);
      assert.equal(header[6], '8');
    });

    it('LEEF 2.0 keeps every attribute on its own delimiter and one line', () => {
      const s = leef(HOSTILE);
      assert.ok(s.startsWith('LEEF:2.0|shadowim|shadowim|'));
      assert.equal(s.split('\n').length, 1);
      const attrs = s.split('|^|')[1].split('^');
      assert.ok(attrs.every((a) => /^[A-Za-z]+=/.test(a)), attrs.join(' / '));
      assert.ok(attrs.includes('alertId=a1b2c3'));
      assert.ok(attrs.includes('sev=8'));
    });

    it('RFC 5424 escapes structured data and cannot be split into a second message', () => {
      const s = rfc5424(HOSTILE, { facility: 16, payload: 'text', hostname: 'sensor1' });
      assert.equal(s.split('\n').length, 1);
      assert.match(s, /^<131>1 2024-01-15T09:30:00.000Z sensor1 shadowim \d+ ALERT \[alert@32473 id="a1b2c3" kind="sensitive_data" /);
      assert.match(s, / users="eve\|x=1,bob" /);
      const sd = s.slice(s.indexOf('['), s.indexOf('] \ufeff') + 1);
      // every ] inside a value is escaped, so the SD element ends exactly once
      assert.equal(sd.replace(/\\[\\"\]]/g, '').split(']').length, 2);
    });

    it('ECS marks an alert as such', () => {
      const d: any = ecs(HOSTILE);
      assert.equal(d.event.kind, 'alert');
      assert.deepEqual(d.event.category, ['network', 'intrusion_detection']);
      assert.equal(d.source.ip, '10.0.0.1');
      assert.equal(d.destination.port, 6667);
      assert.equal(d.rule.ruleset, 'shadowim');
      assert.equal(d.im.match, '************1111');
    });

    it('backs off exponentially with jitter, capped', () => {
      const d = { base_ms: 1000, max_ms: 60000 };
      for (const [n, cap] of [[1, 1000], [2, 2000], [5, 16000], [12, 60000]]) {
        for (const r of [0, 0.5, 0.999]) {
          const v = backoffMs(n, d, () => r);
          assert.ok(v >= cap / 2 && v <= cap, `attempt ${n}: ${v} not in [${cap / 2}, ${cap}]`);
        }
      }
    });

    it('rejects bad sink settings with one line naming the sink and field', () => {
      assert.throws(() => parseSinks([{ name: 'x', type: 'syslog', host: 'h', transport: 'smtp' }], 'c.yaml'), /^Error: c\.yaml: sinks\[0\] \(x\): transport must be udp, tcp or tls$/);
      assert.throws(() => parseSinks([{ name: 's', type: 'splunk', url: 'https://h:8088' }], 'c.yaml'), /sinks\[0\] \(s\): token is required/);
      assert.throws(() => parseSinks([{ name: 'w', type: 'webhook', url: 'ftp://x' }], 'c.yaml'), /url must be an http/);
    });

    // review of 30 November: each of these passed, and the sink then checked no certificate, received
    // nothing, or dead-lettered every alert
    it('rejects what would silently weaken or empty a sink: verify_tls that is not a boolean, misspelt kinds or protocols, an invalid URL', () => {
      const w = (more: object) => () => parseSinks([{ name: 'w', type: 'webhook', url: 'https://h/x', ...more }], 'c.yaml');
      for (const v of ['true', 'yes', 'on', 1]) assert.throws(w({ verify_tls: v }), /^Error: c\.yaml: sinks\[0\] \(w\): verify_tls must be true or false$/, String(v));
      assert.equal(w({ verify_tls: false })().sinks[0].verify_tls, false);
      assert.equal(w({})().sinks[0].verify_tls, true);
      assert.throws(w({ kinds: ['unauthorized_im', 'sensitve_data'] }), /: kinds 'sensitve_data' is not an alert kind \(unauthorized_im, sensitive_data, /);
      assert.throws(w({ protocols: ['irc', 'irk'] }), /: protocols 'irk' is not a protocol id \(aim, icq, /);
      assert.deepEqual(w({ protocols: ['WhatsApp', 'irc'] })().sinks[0].protocols, ['whatsapp', 'irc']); // ids are lower case
      for (const url of ['https://127.0.0.1:99999/h', 'http://[::1']) {
        assert.throws(() => parseSinks([{ name: 'w', type: 'webhook', url }], 'c.yaml'), new RegExp(`: url '${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}' is not a valid URL \\(check the host`), url);
      }
    });
  });

  it('an outbox that cannot be opened is one line naming the file and the setting (analyze and alerts outbox)', async () => {
    const ob = path.join(tmp, 'no-such-dir', 'outbox.db');
    const cfg = path.join(tmp, 'bad-outbox.yaml');
    fs.writeFileSync(cfg, `sinks:\n  targets:\n    - name: soc\n      type: webhook\n      url: http://127.0.0.1:9/hook\n  delivery:\n    outbox: ${ob}\n`);
    const cap = path.join(tmp, 'irc-bad-outbox.pcap');
    ircCapture(cap, 1);
    const r = await shadowim(['analyze', cap, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg } });
    assert.equal(r.status, 2); // a path the configuration names that cannot be used (docs/sensor.md, exit status)
    assert.equal(r.stderr, `shadowim: cannot open the alert outbox ${ob}: no such directory; fix sinks.delivery.outbox or --store\n`);
    // a file that is there but is no SQLite database: named, with the setting (was: 'file is not a database')
    const notDb = path.join(tmp, 'not-an-outbox.db');
    fs.writeFileSync(notDb, 'x'.repeat(4096));
    const cfg2 = path.join(tmp, 'notdb-outbox.yaml');
    fs.writeFileSync(cfg2, `sinks:\n  targets:\n    - name: soc\n      type: webhook\n      url: http://127.0.0.1:9/hook\n  delivery:\n    outbox: ${notDb}\n`);
    for (const args of [['analyze', cap, '--format', 'jsonl'], ['alerts', 'outbox']]) {
      const n = await shadowim(args, { env: { SHADOWIM_CONFIG: cfg2 } });
      assert.equal(n.status, 2, `${args[0]}: ${n.stderr}`);
      assert.equal(n.stderr, `shadowim: cannot open the alert outbox ${notDb}: it is not an SQLite database; fix sinks.delivery.outbox or --store\n`);
    }
    // alerts outbox only reads: an outbox that is not there is refused before anything is opened
    const l = await shadowim(['alerts', 'outbox'], { env: { SHADOWIM_CONFIG: cfg } });
    assert.equal(l.status, 2);
    assert.equal(l.stderr, `shadowim: no alert outbox at ${ob} (sinks.delivery.outbox in ${cfg}): nothing was queued there yet, or fix the path\n`);
    assert.equal(fs.existsSync(path.dirname(ob)), false);
  });

  it('a CA file that cannot be read is a failed delivery in words, not a crash (https webhook, TLS syslog)', async () => {
    const want = `cannot read the CA file ${tmp}: is a directory; fix ca: of the sink`;
    const h = await httpPost('https://127.0.0.1:9/hook', '{}', {}, { timeoutMs: 200, ca: tmp, verify: true });
    assert.deepEqual([h.ok, h.detail], [false, want]);
    // past the deadline: it used to fire on a request never made (ReferenceError, uncaught)
    await new Promise((r) => setTimeout(r, 400));
    const c = new SyslogClient({ transport: 'tls', host: '127.0.0.1', port: 9, timeoutMs: 200, ca: tmp, verify: true });
    const t = await c.send('x');
    c.close();
    assert.deepEqual([t.ok, t.detail], [false, want]);
    // and the configuration refuses it up front
    assert.throws(() => parseSinks({ targets: [{ name: 'soc', type: 'webhook', url: 'https://127.0.0.1:9/hook', ca: tmp }] }, 'x.yaml'), new RegExp(`ca file ${tmp}: is a directory; give a readable CA certificate file`));
  });

  (spawnSync('sh', ['-c', 'command -v openssl']).status === 0 ? it : it.skip)('a relative ca: is read from the configuration file\'s directory, not the working directory (test-sink over https)', async () => {
    const dir = path.join(tmp, 'ca-relative');
    fs.mkdirSync(dir, { recursive: true });
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/siem-ca.pem`, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
    assert.equal(made.status, 0, String(made.stderr));
    const https = await import('node:https');
    let got = '';
    const srv = https.createServer({ key: fs.readFileSync(`${dir}/key.pem`), cert: fs.readFileSync(`${dir}/siem-ca.pem`) }, (req, res) => {
      req.on('data', (c) => (got += c));
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    try {
      const port = (srv.address() as net.AddressInfo).port;
      const cfg = path.join(dir, 'shadowim.yaml');
      fs.writeFileSync(cfg, `sinks:\n  - name: soc\n    type: webhook\n    url: https://127.0.0.1:${port}/hook\n    ca: siem-ca.pem\n`);
      // the CLI runs in the repository, not in the configuration's directory
      assert.notEqual(path.resolve('siem-ca.pem'), path.join(dir, 'siem-ca.pem'));
      const r = await shadowim(['alerts', 'test-sink', 'soc'], { env: { SHADOWIM_CONFIG: cfg } });
      assert.equal(r.stderr, '');
      assert.equal(r.status, 0, r.stdout);
      assert.match(r.stdout, /^soc \(webhook\): delivered/);
      assert.match(got, /shadowim test alert/);
      assert.equal(parseSinks([{ name: 'w', type: 'webhook', url: 'https://h/x', ca: 'siem-ca.pem' }], cfg).sinks[0].ca, path.join(dir, 'siem-ca.pem'));
      // a missing one is named with the path it was looked for at
      assert.throws(() => parseSinks([{ name: 'w', type: 'webhook', url: 'https://h/x', ca: 'nope.pem' }], cfg), new RegExp(`ca file nope\\.pem \\(${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/nope\\.pem\\) does not exist$`));
    } finally {
      srv.close();
    }
  });

  it('a header Node will not send is a failed delivery in words, not a crash; the configuration refuses it up front', async () => {
    // request() throws at once; its deadline used to fire later on a request never made (ReferenceError, uncaught)
    const h = await httpPost('http://127.0.0.1:9/hook', '{}', { 'x-team': 'caf\u20ac' }, { timeoutMs: 200, verify: true });
    assert.deepEqual([h.ok, h.permanent], [false, true]);
    assert.match(h.detail, /^cannot send: Invalid character in header content \["x-team"\]$/);
    await new Promise((r) => setTimeout(r, 400));
    assert.throws(() => parseSinks([{ name: 'w', type: 'webhook', url: 'http://h/x', headers: { 'X-Team': 'caf\u20ac' } }], 'c.yaml'), /^Error: c\.yaml: sinks\[0\] \(w\): headers has an invalid header 'X-Team': use letters, digits and - in the name, printable Latin-1 in the value$/);
    assert.equal(parseSinks([{ name: 'w', type: 'webhook', url: 'http://h/x', headers: { 'X-Team': 'caf\u00e9\tx' } }], 'c.yaml').sinks[0].headers?.['X-Team'], 'caf\u00e9\tx');
  });

  describe('delivery through the outbox', () => {
    let rx: Receiver;
    let port: number;
    beforeEach(async () => {
      port = await freePort();
      rx = new Receiver(port);
    });
    afterEach(() => rx.stop());

    it('keeps alerts while the receiver is down, slow or failing, and delivers each (same id) once it recovers', async () => {
      const cap = path.join(tmp, 'irc5.pcap');
      ircCapture(cap, 5);
      const cfg = writeConfig('recover', port);
      const env = { SHADOWIM_CONFIG: cfg };
      // down: nothing listens
      const r = await shadowim(['analyze', cap, '--format', 'jsonl'], { env });
      assert.equal(r.status, 0, r.stderr);
      const alerts = r.events.filter((e) => e.type === 'alert');
      assert.equal(alerts.length, 5);
      assert.match(r.stderr, /alert deliveries still pending/);
      // slow, then 500s: still nothing delivered, nothing lost
      await rx.start();
      for (const mode of ['slow', 'fail'] as const) {
        rx.mode = mode;
        const d = await shadowim(['alerts', 'deliver'], { env, timeout: 60000 });
        assert.equal(d.status, 0, d.stderr);
        assert.equal(rx.got.length, 0);
      }
      const pending = await shadowim(['alerts', 'outbox', '--state', 'pending'], { env });
      assert.equal(pending.stdout.trim().split('\n').length, 5, pending.stdout);
      assert.match(pending.stdout, /HTTP 500|no answer within/);
      rx.mode = 'ok';
      const d = await shadowim(['alerts', 'deliver'], { env, timeout: 60000 });
      assert.equal(d.status, 0, d.stderr);
      assert.deepEqual(new Set(rx.got.map((g) => g.id)), new Set(alerts.map((a) => a.id)));
      for (const g of rx.got) {
        assert.ok(g.verified, 'signature verifies with the spec algorithm');
        assert.equal(g.body.id, g.id, 'the webhook-id is the alert id');
      }
    });

    it('loses nothing when the sender is killed with SIGKILL mid-delivery', async () => {
      const cap = path.join(tmp, 'irc8.pcap');
      ircCapture(cap, 8);
      const cfg = writeConfig('kill', port);
      const env = { ...process.env, SHADOWIM_CONFIG: cfg };
      rx.mode = 'slow';
      await rx.start();
      const r = await shadowim(['analyze', cap, '--format', 'jsonl'], { env: { SHADOWIM_CONFIG: cfg } });
      const ids = new Set(r.events.filter((e) => e.type === 'alert').map((e) => e.id));
      assert.equal(ids.size, 8);
      const child: ChildProcess = spawn(process.execPath, [CLI, 'alerts', 'deliver', '--watch'], { env, stdio: 'ignore' });
      await new Promise((res) => setTimeout(res, 1500));
      child.kill('SIGKILL');
      await new Promise((res) => child.once('exit', res));
      rx.mode = 'ok';
      const d = await shadowim(['alerts', 'deliver'], { env: { SHADOWIM_CONFIG: cfg }, timeout: 60000 });
      assert.equal(d.status, 0, d.stderr);
      assert.deepEqual(new Set(rx.got.map((g) => g.id)), ids, 'every alert arrived');
      assert.ok(rx.got.every((g) => ids.has(g.id)), 'no alert arrived under another id');
    });

    it('dead-letters what the receiver rejects, shows it, and retries it on request', async () => {
      const cap = path.join(tmp, 'irc2.pcap');
      ircCapture(cap, 2);
      const cfg = writeConfig('dead', port);
      const env = { SHADOWIM_CONFIG: cfg };
      rx.mode = 'reject';
      await rx.start();
      await shadowim(['analyze', cap, '--format', 'jsonl'], { env });
      const dead = await shadowim(['alerts', 'outbox', '--state', 'dead'], { env });
      assert.equal(dead.stdout.trim().split('\n').length, 2, dead.stdout);
      assert.match(dead.stdout, /HTTP 400/);
      rx.mode = 'ok';
      assert.match((await shadowim(['alerts', 'retry'], { env })).stdout, /^2 dead-lettered deliveries queued again/);
      await shadowim(['alerts', 'deliver'], { env, timeout: 60000 });
      assert.equal(rx.got.length, 2);
    });

    it('test-sink sends a signed test alert and prints what the receiver answered', async () => {
      await rx.start();
      const cfg = writeConfig('test', port);
      const r = await shadowim(['alerts', 'test-sink', 'soc'], { env: { SHADOWIM_CONFIG: cfg } });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /^soc \(webhook\): delivered — HTTP 204/);
      assert.equal(rx.got.length, 1);
      assert.ok(rx.got[0].verified);
      const bad = await shadowim(['alerts', 'test-sink', 'nope'], { env: { SHADOWIM_CONFIG: cfg } });
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /no sink named 'nope' .* configured: soc/);
    });

    it('Splunk HEC: posts the envelope to /services/collector/event with the token (a stand-in receiver: no Splunk runs here)', async () => {
      const seen: { url?: string; auth?: string; body?: any }[] = [];
      const hec = http.createServer((req, res) => {
        let b = '';
        req.on('data', (d) => (b += d));
        req.on('end', () => {
          seen.push({ url: req.url, auth: req.headers.authorization, body: JSON.parse(b) });
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"text":"Success","code":0}');
        });
      });
      const hp = await freePort();
      await new Promise<void>((r) => hec.listen(hp, '127.0.0.1', () => r()));
      const cfg = path.join(tmp, 'hec.yaml');
      fs.writeFileSync(cfg, `sinks:\n  - name: splunk\n    type: splunk\n    url: http://127.0.0.1:${hp}\n    token: 12345678-abcd\n    index: security\n`);
      const r = await shadowim(['alerts', 'test-sink', 'splunk'], { env: { SHADOWIM_CONFIG: cfg } });
      hec.close();
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /HTTP 200 OK: \{"text":"Success","code":0\}/);
      assert.equal(seen[0].url, '/services/collector/event');
      assert.equal(seen[0].auth, 'Splunk 12345678-abcd');
      assert.equal(seen[0].body.sourcetype, 'shadowim:alert');
      assert.equal(seen[0].body.index, 'security');
      assert.equal(seen[0].body.event.type, 'alert');
      assert.equal(typeof seen[0].body.time, 'number');
    });
  });

  const rsyslogd = spawnSync('sh', ['-c', 'command -v rsyslogd']).status === 0 && fs.existsSync('/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_ossl.so');
  (rsyslogd && spawnSync('sh', ['-c', 'command -v openssl']).status === 0 ? describe : describe.skip)('a real rsyslog on loopback', () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'rsyslog-'));
    const out = path.join(dir, 'out.log');
    let rs: ChildProcess | undefined;
    let ports: number[] = [];

    before(async () => {
      spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
      ports = [await freePort(), await freePort(), await freePort()];
      fs.writeFileSync(`${dir}/rsyslog.conf`, `global(workDirectory="${dir}" DefaultNetstreamDriverCAFile="${dir}/cert.pem" DefaultNetstreamDriverCertFile="${dir}/cert.pem" DefaultNetstreamDriverKeyFile="${dir}/key.pem")
module(load="imudp")
module(load="imtcp")
input(type="imudp" port="${ports[0]}" address="127.0.0.1")
input(type="imtcp" port="${ports[1]}" address="127.0.0.1")
input(type="imtcp" port="${ports[2]}" address="127.0.0.1" StreamDriver.Name="ossl" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
template(name="t" type="string" string="%app-name%|%msgid%|%structured-data%|%msg%\\n")
*.* action(type="omfile" file="${out}" template="t")
`);
      rs = spawn('rsyslogd', ['-n', '-f', `${dir}/rsyslog.conf`, '-i', `${dir}/pid`], { stdio: 'ignore' });
      const deadline = Date.now() + 10000;
      while (Date.now() < deadline && !spawnSync('ss', ['-lnt']).stdout.toString().includes(`127.0.0.1:${ports[2]}`)) await new Promise((r) => setTimeout(r, 100));
    });
    after(() => rs?.kill('SIGTERM'));

    it('receives RFC 5424 over UDP, TCP and TLS (CEF and LEEF payloads) with the structured data intact', async () => {
      const cfg = path.join(tmp, 'syslog.yaml');
      fs.writeFileSync(cfg, `sinks:
  - { name: udp, type: syslog, transport: udp, host: 127.0.0.1, port: ${ports[0]}, format: text }
  - { name: tcp, type: syslog, transport: tcp, host: 127.0.0.1, port: ${ports[1]}, format: cef }
  - { name: tls, type: syslog, transport: tls, host: 127.0.0.1, port: ${ports[2]}, format: leef, ca: ${dir}/cert.pem }
`);
      for (const s of ['udp', 'tcp', 'tls']) {
        const r = await shadowim(['alerts', 'test-sink', s], { env: { SHADOWIM_CONFIG: cfg } });
        assert.equal(r.status, 0, `${s}: ${r.stdout}${r.stderr}`);
      }
      const deadline = Date.now() + 10000;
      let lines: string[] = [];
      while (Date.now() < deadline) {
        lines = fs.existsSync(out) ? fs.readFileSync(out, 'utf8').trim().split('\n').filter(Boolean) : [];
        if (lines.length >= 3) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(lines.length, 3, lines.join('\n'));
      for (const l of lines) {
        const [app, msgid, sd] = l.split('|');
        assert.equal(app, 'shadowim');
        assert.equal(msgid, 'ALERT');
        assert.match(sd, /^\[alert@32473 id="test-[a-z0-9]+" kind="test" severity="low" protocol="test" count="1"\]$/);
      }
      assert.ok(lines.some((l) => l.includes('shadowim test alert: if you can read this')), 'text payload');
      assert.ok(lines.some((l) => /CEF:0\|shadowim\|shadowim\|[^|]+\|test\|shadowim test alert/.test(l)), 'CEF payload');
      assert.ok(lines.some((l) => /LEEF:2\.0\|shadowim\|shadowim\|[^|]+\|test\|\^\|devTime=/.test(l)), 'LEEF payload');
    });
  });
});
