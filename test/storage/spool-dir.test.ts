// The InfluxDB spool directory (influx.spool_dir) that cannot be made: one line in words naming the
// setting, not the raw mkdir error.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Spool, SpoolError } from '../../storage/spool';
import { shadowim } from '../helpers/run';
import { dccCapture } from '../files/dcc';

describe('storage: an InfluxDB spool directory that cannot be made', function () {
  this.timeout(60000);
  let tmp: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-spool-dir-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a file in the way: SpoolError in words', () => {
    const file = path.join(tmp, 'plain');
    fs.writeFileSync(file, 'x');
    const dir = path.join(file, 'sensor-1');
    assert.throws(() => new Spool(dir, { maxBytes: 1 << 20 }), (e: Error) => e instanceof SpoolError && e.message === `cannot use spool ${dir}: not a directory; fix influx.spool_dir`);
  });

  it('analyze with influx.spool_dir under /proc: one line and exit 1, no events', function () {
    if (!fs.existsSync('/proc/self')) this.skip();
    const cap = dccCapture(path.join(tmp, 'q.pcap'), [{ name: 'a.txt', data: Buffer.from('hello\n') }]);
    const cfg = path.join(tmp, 'c.yaml');
    fs.writeFileSync(cfg, 'influx:\n  url: http://127.0.0.1:9\n  spool_dir: /proc/shadowim-spool\n');
    const r = shadowim(['analyze', cap, '--format', 'jsonl', '--sensor', 'vm'], { env: { SHADOWIM_CONFIG: cfg }, timeout: 30000 });
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, 'shadowim: cannot use spool /proc/shadowim-spool/vm: files cannot be created there; fix influx.spool_dir\n');
  });
});
