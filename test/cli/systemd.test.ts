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

  it('shadowim-report.service + .timer: verified together; oneshot, no network, no capability, the store read-only; rates 1.0 or better', () => {
    const svc = fs.readFileSync(path.join(REPO, 'deploy', 'systemd', 'shadowim-report.service'), 'utf8');
    const timer = fs.readFileSync(path.join(REPO, 'deploy', 'systemd', 'shadowim-report.timer'), 'utf8');
    const f = installed('shadowim-report.service');
    installed('shadowim-report.timer');
    const v = spawnSync('systemd-analyze', ['verify', 'shadowim-report.service', 'shadowim-report.timer'], { cwd: tmp, encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr + v.stdout);
    assert.equal((v.stderr + v.stdout).trim(), '', 'no warnings');
    for (const line of ['Type=oneshot', 'CapabilityBoundingSet=', 'PrivateNetwork=yes', 'IPAddressDeny=any', 'DynamicUser=yes', 'User=shadowim', 'ProtectSystem=strict', 'ReadOnlyPaths=-/var/lib/shadowim/shadowim.db']) {
      assert.ok(svc.split('\n').includes(line), line);
    }
    assert.doesNotMatch(svc, /^(AmbientCapabilities|ReadWritePaths)=/m);
    for (const line of ['OnCalendar=*-*-* 00:10:00 UTC', 'Persistent=true', 'Unit=shadowim-report.service', 'WantedBy=timers.target']) assert.ok(timer.split('\n').includes(line), line);
    const e = exposure(f, 1);
    assert.ok(e.ok && e.level <= 1, e.out.split('\n').slice(-3).join('\n'));
    const bare = svc.split('\n').filter((l) => !/^(Protect|Private|Restrict|NoNewPrivileges|SystemCall|LockPersonality|CapabilityBoundingSet|UMask|DynamicUser|IPAddressDeny)/.test(l)).join('\n');
    assert.ok(!exposure(installed('bare-report.service', bare), 1).ok, 'without its sandbox it fails the threshold');
  });

  it('shadowim-report.service: its command line, run on a store in place of /var/lib/shadowim, writes the dated HTML page', () => {
    const svc = fs.readFileSync(path.join(REPO, 'deploy', 'systemd', 'shadowim-report.service'), 'utf8');
    const args = /^Environment="SHADOWIM_REPORT_ARGS=([^"]*)"$/m.exec(svc)![1];
    assert.match(/^ExecStart=(.*)$/m.exec(svc)![1], / report \$SHADOWIM_REPORT_ARGS$/);
    const state = path.join(tmp, 'state');
    fs.mkdirSync(path.join(state, 'reports'), { recursive: true });
    const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
    openStore(path.join(state, 'shadowim.db')).close();
    const midnight = () => Math.floor(Date.now() / 86400_000) * 86400_000;
    const before = midnight();
    const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'shadowim.js'), 'report', ...args.replace(/\/var\/lib\/shadowim/g, state).split(' ')], { encoding: 'utf8', env: { ...process.env, SHADOWIM_CONFIG: '' } });
    const after = midnight();
    assert.equal(r.status, 0, r.stderr);
    const [name] = fs.readdirSync(path.join(state, 'reports'));
    assert.match(name, /^shadowim-report-\d{4}-\d\d-\d\dT\d{6}Z_\d{4}-\d\d-\d\dT\d{6}Z\.html$/);
    assert.equal(r.stdout, path.join(state, 'reports', name) + '\n');
    const t = name.match(/\d{4}-\d\d-\d\dT\d{6}Z/g)!.map((x) => Date.parse(x.replace(/T(\d\d)(\d\d)(\d\d)Z/, 'T$1:$2:$3Z')));
    assert.equal(t[1] - t[0], 86400_000);
    assert.ok(t[1] === before || t[1] === after, 'yesterday, UTC midnight to midnight: consecutive runs tile');
  });

  // The configuration file is optional (no file = the defaults) under the units as everywhere else:
  // was Environment=SHADOWIM_CONFIG=/etc/shadowim/shadowim.yaml, which stopped all three units with
  // "cannot read config …: no such file" on an install without that file.
  it('each unit runs with no configuration file and reads /etc/shadowim/shadowim.yaml when there is one', () => {
    for (const u of [...UNITS, 'shadowim-report.service']) {
      const unit = fs.readFileSync(path.join(REPO, 'deploy', 'systemd', u), 'utf8');
      const env: Record<string, string> = {};
      for (const m of unit.matchAll(/^Environment="?([A-Z_]+)=([^"\n]*)"?$/gm)) env[m[1]] = m[2];
      const wd = /^WorkingDirectory=(.*)$/m.exec(unit)?.[1];
      assert.equal(wd, '/etc/shadowim', `${u}: runs in the configuration directory`);
      const etc = fs.mkdtempSync(path.join(tmp, 'etc-')); // stands in for /etc/shadowim
      const doctor = () => {
        const r = spawnSync(process.execPath, [path.join(REPO, 'bin', 'shadowim.js'), 'doctor', '--offline', '--format', 'json'], { cwd: etc, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', ...env } });
        return (JSON.parse(r.stdout) as Array<{ check: string; status: string; detail: string }>).find((c) => c.check === 'config')!;
      };
      const none = doctor();
      assert.equal(none.status, 'ok', `${u} without a file: ${JSON.stringify(none)}`);
      fs.writeFileSync(path.join(etc, 'shadowim.yaml'), 'sensor:\n  name: unit-test\n');
      const withFile = doctor();
      assert.equal(withFile.status, 'ok', JSON.stringify(withFile));
      assert.match(withFile.detail, /shadowim\.yaml/, `${u}: the file is read`);
    }
  });

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
