// common/config.ts: where the file is found, what is validated, and the one-line errors.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, loadConfig, parseConfig } from '../../common/config';

describe('config: common/config.ts', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-config-test-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('finds --config, else $SHADOWIM_CONFIG, else ./shadowim.yaml, else defaults', () => {
    const a = path.join(tmp, 'a.yaml'), b = path.join(tmp, 'b.yaml');
    fs.writeFileSync(a, 'sensor: from-flag\n');
    fs.writeFileSync(b, 'sensor: from-env\n');
    assert.equal(loadConfig({ file: a, env: { SHADOWIM_CONFIG: b }, cwd: tmp }).sensor.name, 'from-flag');
    assert.equal(loadConfig({ env: { SHADOWIM_CONFIG: b }, cwd: tmp }).sensor.name, 'from-env');
    assert.equal(loadConfig({ env: {}, cwd: tmp }).file, undefined);
    fs.writeFileSync(path.join(tmp, 'shadowim.yaml'), 'sensor: {name: local}\nstore:\n  path: data/s.db\n');
    const c = loadConfig({ env: {}, cwd: tmp });
    assert.equal(c.sensor.name, 'local');
    assert.equal(c.store.path, path.join(tmp, 'data', 's.db'), 'relative paths are relative to the config file');
  });

  it('reads every storage setting', () => {
    const c = parseConfig(
      'influx:\n  url: http://127.0.0.1:8086/\n  database: im\n  retention: 52w\n  batch_points: 100\n  spool_max_bytes: 64MiB\narchive:\n  enabled: false\n  retention_days: 7\nhome_nets: [10.1.0.0/16]\nsinks:\n  anything: goes\n',
      '/etc/s.yaml',
    );
    assert.equal(c.influx.url, 'http://127.0.0.1:8086');
    assert.equal(c.influx.database, 'im');
    assert.equal(c.influx.retention, '52w');
    assert.equal(c.influx.batch_points, 100);
    assert.equal(c.influx.spool_max_bytes, 64 * 1024 * 1024);
    assert.deepEqual(c.archive, { enabled: false, metadata: true, retention_days: 7 });
    assert.deepEqual(c.home_nets, ['10.1.0.0/16']);
    assert.deepEqual(c.extra.sinks, { anything: 'goes' }, 'sections of other parts are kept for them');
  });

  it('names the file, the line and the problem', () => {
    const err = (text: string) => {
      try {
        parseConfig(text, 'x.yaml');
      } catch (e) {
        assert.ok(e instanceof ConfigError);
        return (e as Error).message;
      }
      assert.fail('no error');
    };
    assert.equal(err('archive:\n  enabled: yes please\n'), 'x.yaml:2: archive.enabled must be true or false');
    assert.equal(err('store:\n  path: a.db\n\ninflux:\n  url: ftp://x\n'), "x.yaml:5: influx.url: 'ftp://x' is not valid (e.g. http://127.0.0.1:8086)");
    assert.equal(err('influx:\n  retention: 30 days\n'), "x.yaml:2: influx.retention: '30 days' is not valid (an InfluxQL duration such as 30d, 52w or INF)");
    assert.match(err('colour: blue\n'), /^x\.yaml:1: unknown section 'colour'; known sections: /);
    assert.match(err('store:\n  path: [unclosed\n'), /^x\.yaml:\d+: not valid YAML: /);
    assert.match(err('store:\n  path: a\n  path: b\n'), /^x\.yaml:3: not valid YAML: .*(unique|duplicate)/i);
    assert.throws(() => loadConfig({ file: path.join(tmp, 'nope.yaml') }), /cannot read config .*nope\.yaml: no such file/);
    // the same words as --config (common/fsError): a path through a file is 'no such file', a directory says so
    fs.writeFileSync(path.join(tmp, 'plain'), '');
    assert.throws(() => loadConfig({ file: path.join(tmp, 'plain', 'c.yaml') }), (e: Error) => e instanceof ConfigError && /^cannot read config .*c\.yaml: no such file$/.test(e.message));
    assert.throws(() => loadConfig({ file: tmp }), (e: Error) => /^cannot read config .*: is a directory$/.test(e.message));
  });
});
