// A mistake in the configuration file is a usage error, exit 2, whichever section holds it (the core
// sections, sinks:, files:, links:) and whichever command reads it: the fix is in the file. The sinks:
// section used to exit 1 (its parser threw plain errors), as did files: and links:.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-config-exit-'));

describe('cli: configuration mistakes exit 2 in every section', () => {
  const cap = path.join(tmp, 'empty.pcap');
  before(() => {
    fs.writeFileSync(cap, new Capture().pcap()); // a capture with no packets
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const cases: [string, string, RegExp][] = [
    ['sinks', 'sinks:\n  targets: 5\n', /sinks\.targets must be a list$/],
    ['sink field', 'sinks:\n  - name: soc\n    type: fax\n', /sinks\[0\] \(soc\): type must be webhook, splunk or syslog$/],
    ['sink CA', `sinks:\n  - name: soc\n    type: syslog\n    host: 127.0.0.1\n    transport: tls\n    ca: ${tmp}\n`, /ca file .*: is a directory; give a readable CA certificate file \(PEM\)$/],
    ['files', 'files:\n  bogus: 1\n', /files\.bogus is not a setting/],
    ['links', 'links:\n  bogus: 1\n', /links\.bogus is not a setting/],
    ['links list', 'links:\n  blocklists: [nowhere.txt]\n', /cannot read link blocklist .*nowhere\.txt: no such file; fix the path in links\.blocklists$/],
    ['store', 'store:\n  bogus: 1\n', /:2: unknown key 'bogus' in store/],
    // a YAML 1.1 merge of no mapping: was the yaml package's plain Error, exit 1 (found by config-fuzz.test.ts)
    ['merge', '%YAML 1.1\n---\nsinks:\n  <<: 1\n', /:4: sinks: Merge sources must be maps or map aliases$/],
    ['files spool', 'files:\n  spool:\n    dir: /proc/shadowim-x/spool\n', /cannot use files\.spool\.dir .*; fix files\.spool\.dir in the config$/],
    ['files quarantine', 'files:\n  quarantine:\n    dir: /proc/shadowim-x/q\n', /cannot use quarantine directory .*; fix files\.quarantine\.dir in the config$/],
  ];
  for (const [name, yaml, want] of cases) {
    it(`${name}: analyze exits 2 with one line`, () => {
      const cfg = path.join(tmp, `${name.replace(/ /g, '-')}.yaml`);
      fs.writeFileSync(cfg, yaml);
      const r = shadowim(['--config', cfg, 'analyze', cap, '--format', 'jsonl']);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr.split('\n').length, 2, r.stderr);
      assert.match(r.stderr.trimEnd(), want);
      assert.equal(r.stdout, '');
    });
  }

  // found by test/cli/config-fuzz.test.ts: a section named as an Object.prototype member was looked up
  // on the validators' object: 'toString:' and 'constructor:' were silently accepted, '__proto__:' and
  // 'valueOf:' threw TypeErrors (exit 1, 'validate is not a function')
  for (const key of ['toString', 'constructor', '__proto__', 'valueOf', 'hasOwnProperty']) {
    it(`a section named ${key}: analyze exits 2 with one line naming it unknown`, () => {
      const cfg = path.join(tmp, `proto-${key}.yaml`);
      fs.writeFileSync(cfg, `sensor: hq-1\n${key}: 1\n`);
      const r = shadowim(['--config', cfg, 'analyze', cap, '--format', 'jsonl']);
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `shadowim: ${cfg}:2: unknown section '${key}'; known sections: sensor, policy, signatures, dashboard, report, home_nets, store, influx, archive, sinks, files, links\n`);
    });
  }

  // found by the same fuzz: the InfluxDB output was opened before the policy was read, and its retries
  // kept the process alive after the error line (it never ended)
  it('a bad --policy with influx.url set: exit 2 with one line, promptly', () => {
    const cfg = path.join(tmp, 'influx.yaml');
    fs.writeFileSync(cfg, 'influx:\n  url: http://127.0.0.1:9\n');
    const policy = path.join(tmp, 'no-such-policy.yaml');
    const t0 = Date.now();
    const r = shadowim(['--config', cfg, 'analyze', cap, '--format', 'jsonl', '--policy', policy], { timeout: 20000 });
    assert.equal(r.status, 2, `status ${r.status} after ${Date.now() - t0} ms: ${r.stderr}`);
    assert.equal(r.stderr, `shadowim: ${policy}: cannot read the policy file: no such file\n`);
  });

  it('alerts reads the sinks: and the core sections: exit 2 as well', () => {
    for (const [name] of [cases[0], cases[1], cases.find((c) => c[0] === 'store')!]) {
      const r = shadowim(['--config', path.join(tmp, `${name.replace(/ /g, '-')}.yaml`), 'alerts', 'outbox']);
      assert.equal(r.status, 2, `${name}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    }
  });
});
