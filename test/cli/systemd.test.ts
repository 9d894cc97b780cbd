// The systemd units in deploy/systemd, checked by systemd's own tools offline (nothing here runs
// systemd as PID 1, so they are verified, not started): `systemd-analyze verify` accepts them with the
// paths of this checkout, and `systemd-analyze security --offline` rates their sandboxing — a unit
// without it rates worse than the threshold the shipped ones must meet.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO } from '../helpers/paths';
import { haveCommand } from '../helpers/netns';

const UNITS = ['shadowim-sensor.service', 'shadowim-dashboard.service'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-systemd-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** the unit as installed from this checkout: its node and its repository */
function installed(name: string, text = fs.readFileSync(path.join(REPO, 'deploy', 'systemd', name), 'utf8')): string {
  const f = path.join(tmp, name);
  fs.writeFileSync(f, text.replace(/\/usr\/bin\/node/g, process.execPath).replace(/\/opt\/shadowim/g, REPO));
  return f;
}

/** `threshold` on the scale systemd prints (0-10); its --threshold takes tenths */
function exposure(file: string, threshold: number): { ok: boolean; level: number; out: string } {
  const r = spawnSync('systemd-analyze', ['security', '--offline=yes', `--threshold=${Math.round(threshold * 10)}`, path.basename(file)], { cwd: tmp, encoding: 'utf8' });
  const out = `${r.stdout}${r.stderr}`;
  const m = /Overall exposure level for .*: (\d+(?:\.\d+)?)/.exec(out);
  return { ok: r.status === 0, level: m ? Number(m[1]) : NaN, out };
}

(haveCommand('systemd-analyze') ? describe : describe.skip)('systemd units (deploy/systemd)', () => {
  for (const u of UNITS) {
    it(`${u}: systemd-analyze verify accepts it; its sandboxing rates 3.0 or better`, () => {
      const f = installed(u);
      const v = spawnSync('systemd-analyze', ['verify', path.basename(f)], { cwd: tmp, encoding: 'utf8' });
      assert.equal(v.status, 0, v.stderr + v.stdout);
      assert.equal((v.stderr + v.stdout).trim(), '', 'no warnings');
      const e = exposure(f, 3);
      assert.ok(e.ok && e.level <= 3, e.out.split('\n').slice(-3).join('\n'));
    });
  }

  it('the sensor alone holds CAP_NET_RAW; the same unit without its sandbox fails the threshold', () => {
    const sensor = fs.readFileSync(path.join(REPO, 'deploy', 'systemd', 'shadowim-sensor.service'), 'utf8');
    const dash = fs.readFileSync(path.join(REPO, 'deploy', 'systemd', 'shadowim-dashboard.service'), 'utf8');
    assert.match(sensor, /^CapabilityBoundingSet=CAP_NET_RAW$/m);
    assert.match(dash, /^CapabilityBoundingSet=$/m);
    const bare = sensor.split('\n').filter((l) => !/^(Protect|Private|Restrict|NoNewPrivileges|SystemCall|LockPersonality|CapabilityBoundingSet|UMask|DynamicUser)/.test(l)).join('\n');
    const e = exposure(installed('bare.service', bare), 3);
    assert.ok(!e.ok && e.level > 3, `an unsandboxed unit rated ${e.level}`);
  });
});
