// Alert routing by who: alerts carry the policy groups of their client, and a sink can take only the
// alerts of some people (`people:`) or groups (`groups:`) — the support team's webhook gets the support
// desk's alerts, the executives' reviewer gets the executives'. Real webhook receivers on loopback.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { shadowimAsync } from '../helpers/run';
import { parseSinks } from '../../outputs/sinks/config';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-routing-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const POLICY = `version: 1
people:
  map:
    10.1.0.5: Dana Ortiz
    10.2.0.9: Lee Park
groups:
  support:
    networks: [10.1.0.0/16]
    allow: [{ protocols: [teams] }]
  executives:
    users: [Lee Park]
    allow: [{ protocols: [slack] }]
`;

describe('alert routing by person and group', function () {
  this.timeout(120_000);

  it('alerts name the client\'s policy groups; a sink with groups: or people: receives only those alerts', async () => {
    const c = new Capture();
    // an IRC session each from a support desk host, an executive, and someone in no group
    for (const [ip, nick] of [['10.1.0.5', 'dana'], ['10.2.0.9', 'lee'], ['10.3.0.1', 'sam']]) {
      c.tcp(`${ip}:40000`, '198.51.100.7:6667').open().send('c', `NICK ${nick}\r\nUSER ${nick} 0 * :x\r\n`).send('c', `PRIVMSG #x :hello from ${nick}\r\n`).close();
    }
    const cap = path.join(tmp, 'irc.pcap');
    fs.writeFileSync(cap, c.pcap());
    const policy = path.join(tmp, 'policy.yaml');
    fs.writeFileSync(policy, POLICY);

    const got: Record<string, any[]> = { support: [], execs: [], all: [] };
    const server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => (body += d));
      req.on('end', () => {
        got[req.url!.slice(1)].push(JSON.parse(body));
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (server.address() as import('node:net').AddressInfo).port;
      const hook = (name: string, filter: string) => `    - name: ${name}\n      type: webhook\n      url: http://127.0.0.1:${port}/${name}\n${filter}`;
      const cfg = path.join(tmp, 'c.yaml');
      fs.writeFileSync(cfg, `sinks:\n  targets:\n${hook('support', '      groups: [support]\n')}${hook('execs', '      people: [lee park]\n')}${hook('all', '')}  delivery:\n    outbox: ${path.join(tmp, 'outbox.db')}\n    drain_ms: 20000\n`);
      const r = await shadowimAsync(['analyze', cap, '--format', 'jsonl', '--policy', policy, '--config', cfg]);
      assert.equal(r.status, 0, r.stderr);
      const alerts = r.events.filter((e) => e.type === 'alert');
      assert.equal(alerts.length, 3, JSON.stringify(alerts));
      const by = (ip: string) => alerts.find((a) => a.client.ip === ip);
      assert.deepEqual([by('10.1.0.5').person, by('10.1.0.5').groups], ['Dana Ortiz', ['support']]);
      assert.deepEqual([by('10.2.0.9').person, by('10.2.0.9').groups], ['Lee Park', ['executives']]);
      assert.equal(by('10.3.0.1').groups, undefined, 'no group: no field');
      assert.deepEqual(got.support.map((a) => a.client.ip), ['10.1.0.5']);
      assert.deepEqual(got.execs.map((a) => a.client.ip), ['10.2.0.9'], 'people: matched case-insensitively');
      assert.equal(got.all.length, 3);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  it('a sink routed by a group the policy does not have is named in a warning (it would receive nothing)', async () => {
    const policy = path.join(tmp, 'policy2.yaml');
    fs.writeFileSync(policy, POLICY);
    const cfg = path.join(tmp, 'typo.yaml');
    fs.writeFileSync(cfg, `sinks:\n  targets:\n    - name: helpdesk\n      type: webhook\n      url: http://127.0.0.1:9/hook\n      groups: [suport, support]\n  delivery:\n    outbox: ${path.join(tmp, 'outbox2.db')}\n    drain_ms: 100\n`);
    const r = await shadowimAsync(['analyze', '-', '--format', 'jsonl', '--policy', policy, '--config', cfg], { input: new Capture().pcap() });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /^shadowim: warning: sink helpdesk takes groups 'suport', which is no group of the policy \(.*policy2\.yaml\): those receive no alert$/m);
    assert.doesNotMatch(r.stderr, /'support'/);
  });

  it('people: and groups: must be lists of names', () => {
    const bad = (filter: string) => {
      try {
        parseSinks({ targets: [{ name: 's', type: 'webhook', url: 'http://127.0.0.1:1/x', ...filter.length ? JSON.parse(filter) : {} }] });
      } catch (e) {
        return (e as Error).message;
      }
      assert.fail('accepted');
    };
    assert.match(bad('{"groups": "support"}'), /groups must be a list of names/);
    assert.match(bad('{"people": [1, 2]}'), /people must be a list of names/);
  });
});
