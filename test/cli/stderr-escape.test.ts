// What the command line says on standard error is one line per line, whatever the file names hold: a
// name with ESC, CSI (0x9b) or a line break (a script looping over hostile file names) is shown with
// \xNN escapes, never passed to the terminal, and does not cut the message short.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Capture } from '../helpers/pcapgen';
import { shadowim } from '../helpers/run';
import { MAX_STDERR_LINE, shortLine } from '../../common/stderr';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-stderr-'));
const EVIL = '\u001b[31mred\nsecond\u009b2J\r';
const SHOWN = '\\x1b[31mred\\x0asecond\\x9b2J\\x0d';

/** the control characters of a text, other than the line break that ends each line */
const controls = (s: string) => s.replace(/\n$/, '').match(/[\u0000-\u001f\u007f-\u009f]/g) ?? [];

describe('cli: control characters in error and status lines', () => {
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('analyze on a missing file with ESC and a line break in its name: one line, the escapes visible, exit 1', () => {
    const file = path.join(tmp, EVIL);
    const r = shadowim(['analyze', file]);
    assert.equal(r.status, 1);
    assert.equal(r.stderr, `shadowim: ${tmp}/${SHOWN}: no such file; give the path of a pcap or pcapng capture, or '-' for standard input\n`);
    assert.deepEqual(controls(r.stderr), []);
  });

  it("analyze's summary line names a capture with such a name escaped", () => {
    const file = path.join(tmp, `${EVIL}.pcap`);
    fs.writeFileSync(file, new Capture().pcap()); // a capture with no packets
    const r = shadowim(['analyze', file, '--format', 'jsonl']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.split('\n').length, 2, r.stderr);
    assert.ok(r.stderr.startsWith(`shadowim: ${tmp}/${SHOWN}.pcap: 0 packets`), r.stderr);
    assert.deepEqual(controls(r.stderr), []);
  });

  it('policy check, --config and an unknown command: the same', () => {
    const p = shadowim(['policy', 'check', path.join(tmp, EVIL)]);
    assert.equal(p.status, 2);
    assert.equal(p.stderr, `shadowim: ${tmp}/${SHOWN}: cannot read the policy file: no such file\n`);
    const c = shadowim(['--config', path.join(tmp, EVIL), 'doctor']);
    assert.equal(c.status, 2);
    assert.match(c.stderr, /^shadowim: --config .*\\x1b\[31mred\\x0asecond.*: no such file; give the path of a readable YAML configuration file\n$/);
    const u = shadowim(['\u001b]0;owned\u0007']);
    assert.equal(u.status, 2);
    assert.equal(u.stderr, "shadowim: unknown command '\\x1b]0;owned\\x07'; run 'shadowim --help' for the list\n");
    for (const r of [p, c, u]) assert.deepEqual(controls(r.stderr), []);
  });

  it('a megabyte value quoted in an error: one line of about 2 KiB that keeps its start and what to do', () => {
    const file = path.join(tmp, 'big-sink.yaml');
    fs.writeFileSync(file, `sinks:\n  - name: ${'x'.repeat(1 << 20)}\n    type: json\n    url: http://127.0.0.1:9/\n`);
    const empty = path.join(tmp, 'empty.pcap');
    fs.writeFileSync(empty, new Capture().pcap());
    const r = shadowim(['analyze', empty, '--config', file]);
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.split('\n').length, 2, 'one line');
    assert.ok(r.stderr.length < MAX_STDERR_LINE + 100, `${r.stderr.length} characters`);
    assert.ok(r.stderr.startsWith(`shadowim: ${file}: sinks[0] (xxx`), r.stderr.slice(0, 200));
    assert.match(r.stderr, / … \(\d+ characters left out\) … x+\): name must be 1-64 letters, digits, _ \. -\n$/);
    // doctor's report line for the same mistake: cut the same way
    const d = shadowim(['--config', file, 'doctor', '--offline']);
    const line = d.stdout.split('\n').find((l) => l.startsWith('FAIL  sinks'));
    assert.ok(line && line.length < MAX_STDERR_LINE + 100, `${line?.length} characters`);
    assert.match(line!, /characters left out\) … x+\): name must be 1-64 letters, digits, _ \. - — fix: /);
  });

  it('the cut never splits a surrogate pair', () => {
    for (let shift = 0; shift < 4; shift++) {
      const s = 'a'.repeat(shift) + '😀'.repeat(3000);
      const out = shortLine(s);
      assert.ok(out.length <= MAX_STDERR_LINE + 60);
      assert.doesNotMatch(out, /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/, `lone surrogate at shift ${shift}`);
    }
    assert.equal(shortLine('short'), 'short');
  });
});
