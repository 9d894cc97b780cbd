// `shadowim doctor`, run as an operator would, against temp configurations: the exact status of each
// check, the fix on every line not ok, the exit status, and that nothing was created or changed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shadowim, type RunResult } from '../helpers/run';
import { freePort, haveInfluxd, Influxd } from '../storage/influxd';

// no configuration or signature overrides from the environment of whoever runs the tests
const NO_ENV = { SHADOWIM_CONFIG: '', SHADOWIM_SIGNATURES_DIR: '' };

interface Line {
  check: string;
  status: string;
  detail: string;
  fix: string | null;
}

function doctorJson(args: string[]): { r: RunResult; lines: Line[]; by: Record<string, Line> } {
  const r = shadowim(['doctor', '--format', 'json', ...args], { env: NO_ENV });
  const lines = JSON.parse(r.stdout) as Line[];
  return { r, lines, by: Object.fromEntries(lines.map((l) => [l.check, l])) };
}
const statuses = (lines: Line[]) => Object.fromEntries(lines.map((l) => [l.check, l.status]));
const sha = (f: string) => crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
const haveOpenssl = spawnSync('sh', ['-c', 'command -v openssl']).status === 0;

describe('cli: shadowim doctor', function () {
  this.timeout(60000);
  let tmp: string;
  let n = 0;
  /** a config file in its own folder, with the store in that folder (not created) */
  const config = (body: string): { file: string; dir: string; store: string } => {
    const dir = path.join(tmp, `c${++n}`);
    fs.mkdirSync(dir);
    const store = path.join(dir, 'shadowim.db');
    const file = path.join(dir, 'shadowim.yaml');
    fs.writeFileSync(file, `store:\n  path: ${store}\n${body}`);
    return { file, dir, store };
  };

  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-doctor-'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('a clean minimal config: exit 0, every line ok or warn, text and json agree, nothing created', () => {
    const c = config('');
    const { r, lines } = doctorJson(['--config', c.file]);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const s = statuses(lines);
    assert.deepEqual(
      { config: s.config, policy: s.policy, signatures: s.signatures, store: s.store, influx: s.influx, sinks: s.sinks, quarantine: s.quarantine, clamav: s.clamav, 'hash lists': s['hash lists'], 'dashboard users': s['dashboard users'], 'dashboard tls': s['dashboard tls'], links: s.links, interface: s.interface },
      { config: 'ok', policy: 'ok', signatures: 'ok', store: 'ok', influx: 'ok', sinks: 'ok', quarantine: 'ok', clamav: 'ok', 'hash lists': 'ok', 'dashboard users': 'warn', 'dashboard tls': 'ok', links: 'ok', interface: 'ok' },
    );
    for (const l of lines) {
      assert.ok(['ok', 'warn'].includes(l.status), `${l.check}: ${l.status} ${l.detail}`);
      if (l.status !== 'ok') assert.ok(l.fix && !l.fix.includes('\n'), `${l.check} says what to do, in one line`);
    }
    assert.match(lines.find((l) => l.check === 'config')!.detail, new RegExp(`${c.file} \\(--config\\) parses`));
    assert.match(lines.find((l) => l.check === 'dashboard users')!.fix!, /shadowim user add NAME --role admin --store /);
    assert.match(lines.find((l) => l.check === 'disk')!.detail, /GiB free/);

    const t = shadowim(['doctor', '--config', c.file], { env: NO_ENV });
    assert.equal(t.status, 0);
    const text = t.stdout.split('\n').filter((l) => /^(ok|warn|FAIL|skip) /.test(l));
    assert.equal(text.length, lines.length, 'one text line per check');
    text.forEach((l, i) => {
      assert.ok(l.startsWith(lines[i].status.padEnd(4) + '  ' + lines[i].check), l);
      if (lines[i].fix) assert.ok(l.endsWith(`— fix: ${lines[i].fix}`), l);
    });
    assert.match(t.stdout, /\n0 failed, 1 warning, \d+ ok\n$/);
    assert.deepEqual(fs.readdirSync(c.dir), ['shadowim.yaml'], 'no store (or anything else) was created');
  });

  it('counts of one are singular: 1 warning, 1 group, 1 person, 1 hash, 1 entry (was: 1 warnings, 1 groups, …)', () => {
    const c = config('');
    const policy = path.join(c.dir, 'policy.yaml');
    fs.writeFileSync(policy, 'version: 1\npeople:\n  map:\n    10.0.0.5: Dana\ngroups:\n  eng:\n    networks: [10.0.0.0/8]\n    allow:\n      - protocols: any\nsanctioned_servers: [chat.corp.example]\n');
    fs.writeFileSync(path.join(c.dir, 'one.csv'), `sha256,name\n${'a'.repeat(64)},Bad\n`);
    fs.writeFileSync(path.join(c.dir, 'one.txt'), 'bad.example\n');
    fs.appendFileSync(c.file, 'files:\n  hash_lists: [one.csv]\nlinks:\n  blocklists: [one.txt]\n');
    const { by } = doctorJson(['--config', c.file, '--policy', policy]);
    assert.match(by.policy.detail, /: 1 group, 1 person mapped, 1 sanctioned server$/);
    assert.equal(by['hash lists'].detail, '1 file, 1 hash');
    assert.equal(by.links.detail, '1 blocklist, 1 entry');
    const t = shadowim(['doctor', '--config', c.file, '--policy', policy], { env: NO_ENV });
    assert.match(t.stdout, /\n0 failed, 1 warning, \d+ ok\n$/, 'the one warning: no dashboard user');
  });

  it('a broken policy: FAIL naming the file and the line, exit 1', () => {
    const c = config('');
    const policy = path.join(c.dir, 'policy.yaml');
    fs.writeFileSync(policy, 'version: 1\ntimezone: UTC\ngroupz:\n  - name: x\n');
    const { r, by } = doctorJson(['--config', c.file, '--policy', policy]);
    assert.equal(r.status, 1);
    assert.equal(by.policy.status, 'FAIL');
    assert.match(by.policy.detail, new RegExp(`^${policy}:3: unknown setting 'groupz'`));
    assert.match(by.policy.fix!, /shadowim policy check/);
    // an unreadable people file is the policy's error too, with its line
    fs.writeFileSync(policy, 'version: 1\npeople:\n  csv: missing.csv\n');
    const p = doctorJson(['--config', c.file, '--policy', policy]);
    assert.equal(p.by.policy.status, 'FAIL');
    assert.match(p.by.policy.detail, new RegExp(`^${policy}:3: cannot read people CSV 'missing.csv'`));
    fs.writeFileSync(policy, 'version: 1\n');
    assert.equal(doctorJson(['--config', c.file, '--policy', policy]).by.policy.status, 'ok');
  });

  it('a policy that cannot be read: FAIL saying why and what to do, not "at the line named" (there is none)', () => {
    const c = config('');
    const missing = path.join(c.dir, 'nope.yaml');
    const { r, by } = doctorJson(['--config', c.file, '--policy', missing]);
    assert.equal(r.status, 1);
    assert.equal(by.policy.status, 'FAIL');
    assert.equal(by.policy.detail, `${missing} (--policy): cannot read the policy file: no such file`);
    assert.match(by.policy.fix!, /^give --policy an existing policy file \(a relative path is from \/.*\), or start one from \/.*analyzer\/policy\.example\.yaml$/);
    // named by the config: the fix says where
    const k = config('policy: gone.yaml\n');
    const f = doctorJson(['--config', k.file]);
    assert.equal(f.by.policy.detail, `${path.join(k.dir, 'gone.yaml')} (config policy): cannot read the policy file: no such file`);
    assert.match(f.by.policy.fix!, new RegExp(`^set policy: in ${k.file} to an existing file \\(a relative path is from that file's folder\\)`));
    // a directory
    const d = doctorJson(['--config', c.file, '--policy', c.dir]);
    assert.equal(d.by.policy.detail, `${c.dir} (--policy): cannot read the policy file: is a directory`);
    assert.equal(d.by.policy.fix, 'name the policy file in that directory, not the directory');
    for (const x of [by, f.by, d.by]) assert.doesNotMatch(x.policy.fix!, /line named/);
  });

  it('a config mistake: FAIL with the line, the other checks still run on the defaults', () => {
    const c = config('storage:\n  path: x\n');
    const { r, by, lines } = doctorJson(['--config', c.file]);
    assert.equal(r.status, 1);
    assert.equal(by.config.status, 'FAIL');
    assert.match(by.config.detail, new RegExp(`^${c.file}:3: unknown section 'storage'`));
    assert.ok(lines.length > 10 && by.signatures.status === 'ok');
    // a section that sets command defaults: the config line says what it sets; the folder is checked
    const u = config('signatures:\n  dir: sig\n');
    const w = doctorJson(['--config', u.file]);
    assert.equal(w.r.status, 1, 'the named override folder does not exist');
    assert.equal(w.lines.filter((l) => l.check === 'config').map((l) => l.status).join(), 'ok,ok');
    assert.match(w.lines.filter((l) => l.check === 'config')[1].detail, /signatures\.dir → the signature override folder/);
    assert.equal(w.by.signatures.status, 'FAIL');
    assert.match(w.by.signatures.detail, new RegExp(`${u.dir}/sig: no such directory \\(signature overrides, from signatures\\.dir in ${u.file}\\)`));
  });

  it('the config line lists the sections the file has, no others (was: sensor, home_nets, store, influx, archive always)', () => {
    const dir = path.join(tmp, `s${++n}`);
    fs.mkdirSync(dir);
    const empty = path.join(dir, 'empty.yaml');
    fs.writeFileSync(empty, '# nothing set yet\n');
    const e = doctorJson(['--config', empty, '--offline']);
    assert.equal(e.by.config.detail, `${empty} (--config) parses; no section: the built-in defaults`);
    const some = path.join(dir, 'some.yaml');
    fs.writeFileSync(some, 'archive:\n  enabled: false\nsinks: []\nreport:\n  tz: UTC\n');
    const s = doctorJson(['--config', some, '--offline']);
    assert.equal(s.lines.find((l) => l.check === 'config')!.detail, `${some} (--config) parses; sections: archive, sinks, report`);
  });

  it('the config keys it maps to options are those of the commands\' own --help, both ways (was: serve --login-notice, which does not exist; report.tz left out)', () => {
    // every [config: KEY] option of every command, as its --help prints it: "KEY CMD --option"
    const overview = shadowim(['--help'], { env: NO_ENV }).stdout;
    const commands = [...overview.split('commands:')[1].split('global options')[0].matchAll(/^ {2}([a-z]+) /gm)].map((m) => m[1]);
    assert.ok(commands.includes('serve') && commands.includes('report') && commands.includes('doctor'), overview);
    const fromHelp = new Set<string>();
    for (const cmd of commands) {
      const h = shadowim([cmd, '--help'], { env: NO_ENV });
      assert.equal(h.status, 0, `${cmd} --help: ${h.stderr}`);
      for (const m of h.stdout.matchAll(/^ {2}(?:-\w, )?--([a-z][a-z-]*)\b.*\[config: ([a-z_.]+)\]$/gm)) fromHelp.add(`${m[2]} ${cmd} --${m[1]}`);
    }
    assert.ok(fromHelp.has('report.tz report --tz') && fromHelp.has('dashboard.port serve --port'), [...fromHelp].join('\n'));
    // a file that sets every one of those keys, and the notice that no option takes
    const c = config(
      'policy: p.yaml\nsignatures:\n  dir: sig\n' +
        'sensor:\n  name: hq-1\n  interface: lo\n  filter: tcp\n  snaplen: 1500\n  buffer_size: 8\n  queue_size: 16\n  max_flows: 1000\n  evidence_dir: ev\n  stats: true\n  stats_interval: 5\n' +
        'dashboard:\n  port: 9000\n  host: 127.0.0.1\n  tls_cert: c.pem\n  tls_key: k.pem\n  trust_proxy: loopback\n  login_notice: Authorized use only\n' +
        'report:\n  tz: Europe/Berlin\n',
    );
    const { lines } = doctorJson(['--config', c.file, '--offline']);
    const sets = lines.filter((l) => l.check === 'config')[1];
    assert.equal(sets.status, 'ok');
    const prefix = 'sets the defaults (the command line wins): ';
    assert.ok(sets.detail.startsWith(prefix), sets.detail);
    const fromDoctor = new Set<string>();
    const other: Record<string, string> = {};
    for (const part of sets.detail.slice(prefix.length).split('; ')) {
      const [key, what] = part.split(' → ');
      // "CMD --option" for each command that takes it, e.g. "sensor --interface, doctor --interface"
      const pairs = what.split(', ').map((x) => /^([a-z]+) --([a-z-]+)$/.exec(x));
      if (pairs.every((m) => m)) for (const m of pairs) fromDoctor.add(`${key} ${m![1]} --${m![2]}`);
      else other[key] = what;
    }
    assert.deepEqual([...fromDoctor].sort(), [...fromHelp].sort(), 'doctor names exactly the options that take a config key');
    assert.deepEqual(Object.keys(other).sort(), ['dashboard.login_notice', 'signatures.dir']);
    for (const [key, what] of Object.entries(other)) assert.doesNotMatch(what, /--/, `${key} names no option`);
    assert.match(other['dashboard.login_notice'], /no command-line option/);
    assert.match(sets.detail, /; report\.tz → report --tz(;|$)/);
  });

  it('a store whose directory does not exist: FAIL with the fix, nothing created', () => {
    const missing = path.join(tmp, 'nope', 'deeper');
    const c = config('');
    const { r, by } = doctorJson(['--config', c.file, '--store', path.join(missing, 'shadowim.db')]);
    assert.equal(r.status, 1);
    assert.equal(by.store.status, 'FAIL');
    assert.match(by.store.detail, /cannot be created: directory .*nope\/deeper does not exist/);
    assert.match(by.store.fix!, /^create it for the user the sensor runs as: mkdir -p .*nope\/deeper/);
    assert.equal(by.disk.status === 'ok' || by.disk.status === 'warn', true, 'disk space of the nearest existing parent');
    assert.equal(fs.existsSync(path.join(tmp, 'nope')), false);
    // a file where a directory of the path should be: the directory does not exist (was: 'not writable (ENOTDIR)')
    const inWay = doctorJson(['--config', c.file, '--store', path.join(c.file, 'sub', 'shadowim.db')]);
    assert.equal(inWay.by.store.status, 'FAIL');
    assert.match(inWay.by.store.detail, /cannot be created: directory .*shadowim\.yaml\/sub does not exist$/);
    // a file that is not a store
    fs.writeFileSync(path.join(c.dir, 'junk.db'), 'not sqlite at all, just text '.repeat(200));
    const j = doctorJson(['--config', c.file, '--store', path.join(c.dir, 'junk.db')]);
    assert.equal(j.by.store.status, 'FAIL');
    assert.match(j.by.store.detail, /is not an SQLite database/);
  });

  it('an existing store: opened read-only (unchanged), schema current, users counted, dead letters warned', () => {
    const c = config('sinks:\n  - name: soc\n    type: syslog\n    transport: udp\n    host: 127.0.0.1\n    port: 5514\n');
    const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
    const { UserStore } = require('../../dashboard/auth') as typeof import('../../dashboard/auth');
    const { openOutbox } = require('../../outputs/sinks/outbox') as typeof import('../../outputs/sinks/outbox');
    const db = openStore(c.store);
    new UserStore(db).add('alice', 'viewer', 'correct horse battery');
    db.close();
    const ob = openOutbox(c.store);
    ob.prepare(`INSERT INTO alert_outbox (alert_id, sink, alert, state, attempts, next_at, created_at, updated_at) VALUES ('a1', 'soc', '{}', 'dead', 12, 0, 0, 0), ('a2', 'soc', '{}', 'delivered', 1, 0, 0, 0)`).run();
    ob.pragma('wal_checkpoint(TRUNCATE)');
    ob.close();
    const before = sha(c.store);
    const mtime = fs.statSync(c.store).mtimeMs;
    const listing = fs.readdirSync(c.dir).sort();
    const { r, by } = doctorJson(['--config', c.file]);
    assert.equal(r.status, 0, r.stdout);
    assert.equal(by.store.status, 'ok');
    assert.match(by.store.detail, /opens read-only, schema \d+ \(current\)/);
    assert.equal(by['dashboard users'].status, 'warn');
    assert.match(by['dashboard users'].detail, /1 user \(1 viewer\), no admin/);
    assert.equal(by.outbox.status, 'warn');
    assert.match(by.outbox.detail, /0 pending, 1 delivered, 1 dead-lettered/);
    assert.match(by.outbox.fix!, /shadowim alerts outbox --state dead.*shadowim alerts retry/);
    assert.equal(by['sink soc'].status, 'ok', 'UDP is not probed');
    assert.match(by['sink soc'].detail, /alerts test-sink soc/);
    assert.equal(sha(c.store), before, 'the store file is unchanged');
    assert.equal(fs.statSync(c.store).mtimeMs, mtime);
    assert.deepEqual(fs.readdirSync(c.dir).sort(), listing);
  });

  it('a store left with its write-ahead log (the sensor killed): the store file, the log and the listing unchanged', () => {
    const c = config('');
    const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
    const { UserStore } = require('../../dashboard/auth') as typeof import('../../dashboard/auth');
    // the writer still has it open: a copy of its files is what a crash leaves (the last pages only in the -wal)
    const live = path.join(tmp, `live${++n}`);
    fs.mkdirSync(live);
    const db = openStore(path.join(live, 'shadowim.db'));
    db.pragma('wal_autocheckpoint = 0');
    new UserStore(db).add('alice', 'admin', 'correct horse battery');
    for (const f of fs.readdirSync(live)) fs.copyFileSync(path.join(live, f), path.join(c.dir, f));
    db.close();
    assert.ok(fs.statSync(`${c.store}-wal`).size > 0, 'the copy has a write-ahead log');
    const before = { db: sha(c.store), wal: sha(`${c.store}-wal`) };
    const listing = fs.readdirSync(c.dir).sort();
    const { r, by } = doctorJson(['--config', c.file]);
    assert.equal(r.status, 0, r.stdout);
    assert.equal(by['dashboard users'].status, 'ok', 'the user in the log is read');
    assert.deepEqual({ db: sha(c.store), wal: sha(`${c.store}-wal`) }, before, 'not checkpointed into the store');
    assert.deepEqual(fs.readdirSync(c.dir).sort(), listing);
  });

  it('a sink on a closed loopback port: warn unreachable, skip with --offline; no outbox created', async () => {
    const port = await freePort();
    const c = config(`sinks:\n  - name: hook\n    type: webhook\n    url: http://127.0.0.1:${port}/alerts\n  - name: sys\n    type: syslog\n    transport: tcp\n    host: 127.0.0.1\n    port: ${port}\n`);
    const { r, by } = doctorJson(['--config', c.file]);
    assert.equal(r.status, 0, 'an unreachable sink is a warning: alerts wait in the outbox');
    assert.equal(by.sinks.status, 'ok');
    assert.equal(by.outbox.status, 'ok');
    for (const s of ['sink hook', 'sink sys']) {
      assert.equal(by[s].status, 'warn', s);
      assert.match(by[s].detail, new RegExp(`127\\.0\\.0\\.1:${port} unreachable \\(ECONNREFUSED\\)`));
      assert.match(by[s].fix!, /shadowim alerts test-sink (hook|sys)/);
    }
    const off = doctorJson(['--config', c.file, '--offline']);
    assert.equal(off.by['sink hook'].status, 'skip');
    assert.equal(off.by['sink sys'].status, 'skip');
    assert.deepEqual(fs.readdirSync(c.dir), ['shadowim.yaml'], 'no outbox or store was created');
    // the sinks module's own parser
    const bad = config('sinks:\n  - name: x\n    type: carrier-pigeon\n');
    const b = doctorJson(['--config', bad.file]);
    assert.equal(b.by.sinks.status, 'FAIL');
    assert.match(b.by.sinks.detail, /sinks\[0\] \(x\): type must be webhook, splunk or syslog/);
  });

  it('files and links: quarantine, clamscan, hash lists and blocklists read, missing ones FAIL', () => {
    const c = config('');
    const list = path.join(c.dir, 'intel.csv');
    fs.writeFileSync(list, `sha256,name\n${'a'.repeat(64)},Bad\n${'b'.repeat(64)},Worse\n`);
    const bl = path.join(c.dir, 'urlhaus.txt');
    fs.writeFileSync(bl, 'http://evil.example/x\nbad.example\n');
    fs.appendFileSync(c.file, `files:\n  hash_lists: [intel.csv]\n  quarantine:\n    dir: q\n  clamav:\n    command: clamscan\nlinks:\n  blocklists: [urlhaus.txt]\n`);
    const { by } = doctorJson(['--config', c.file]);
    assert.equal(by['hash lists'].status, 'ok');
    assert.match(by['hash lists'].detail, /1 file, 2 hashes/);
    assert.equal(by.quarantine.status, 'ok');
    assert.match(by.quarantine.detail, /does not exist yet/);
    assert.equal(by.links.status, 'ok');
    assert.match(by.links.detail, /1 blocklist, 2 entries/);
    const clam = spawnSync('sh', ['-c', 'command -v clamscan']).status === 0;
    assert.equal(by.clamav.status, clam ? 'ok' : 'FAIL');
    assert.equal(fs.existsSync(path.join(c.dir, 'q')), false, 'the quarantine was not created');
    fs.rmSync(list);
    fs.rmSync(bl);
    const m = doctorJson(['--config', c.file]);
    assert.equal(m.by['hash lists'].status, 'FAIL');
    assert.equal(m.by['hash lists'].detail, `cannot read hash list ${list}: no such file; fix the path in files.hash_lists`);
    assert.equal(m.by.links.status, 'FAIL');
    assert.match(m.by.links.detail, /urlhaus\.txt/);
    assert.equal(m.r.status, 1);
  });

  it('no ClamAV: the clamav line says what carved files get (was: "checked against hash lists only" with no hash list)', () => {
    const c = config('');
    const none = doctorJson(['--config', c.file, '--offline']).by;
    assert.equal(none.clamav.status, 'ok');
    assert.match(none.clamav.detail, /nor any hash list \(files\.hash_lists\): carved files are typed, hashed and held to the policy's file rules but not scanned \(verdict unscanned:no-scanner\)/);
    assert.doesNotMatch(none.quarantine.detail, /scanned/, 'nothing scans them');
    fs.writeFileSync(path.join(c.dir, 'intel.csv'), `sha256,name\n${'a'.repeat(64)},Bad\n`);
    fs.appendFileSync(c.file, 'files:\n  hash_lists: [intel.csv]\n');
    const lists = doctorJson(['--config', c.file, '--offline']).by;
    assert.match(lists.clamav.detail, /^not configured \(files\.clamav\): carved files are checked against the hash lists and the policy's file rules, not scanned for malware$/);
  });

  it('an interface: lo exists and is up; a missing one is FAIL', () => {
    const c = config('');
    const { by } = doctorJson(['--config', c.file, '--interface', 'lo']);
    assert.equal(by['interface lo'].status, 'ok');
    const m = doctorJson(['--config', c.file, '--interface', 'lo,nosuch9']);
    assert.equal(m.by['interface lo'].status, 'ok');
    assert.equal(m.by['interface nosuch9'].status, 'FAIL');
    assert.match(m.by['interface nosuch9'].detail, /nosuch9 does not exist/);
    assert.equal(m.r.status, 1);
  });

  (haveOpenssl ? describe : describe.skip)('dashboard TLS certificates made by openssl', () => {
    let dir: string;
    const cert = (name: string, days: number, key = 'key.pem') => {
      const out = path.join(dir, name);
      const k = path.join(dir, key);
      if (!fs.existsSync(k)) spawnSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', k]);
      fs.chmodSync(k, 0o600);
      spawnSync('openssl', ['req', '-new', '-key', k, '-out', `${out}.csr`, '-subj', '/CN=shadowim.test']);
      const r = spawnSync('openssl', ['x509', '-req', '-in', `${out}.csr`, '-signkey', k, '-days', String(days), '-out', out]);
      assert.equal(r.status, 0, r.stderr.toString());
      return out;
    };
    const tls = (certFile: string, keyFile: string) => doctorJson(['--config', config('').file, '--tls-cert', certFile, '--tls-key', path.join(dir, keyFile)]);
    before(() => {
      dir = path.join(tmp, 'tls');
      fs.mkdirSync(dir);
    });

    it('valid for a year: ok; the key readable by everyone: warn', () => {
      const c = cert('year.pem', 365);
      const { by } = tls(c, 'key.pem');
      assert.equal(by['dashboard tls'].status, 'ok');
      assert.match(by['dashboard tls'].detail, /CN=shadowim\.test\) matches its key, valid 36[45] more days/);
      fs.chmodSync(path.join(dir, 'key.pem'), 0o644);
      const w = tls(c, 'key.pem');
      assert.equal(w.by['dashboard tls'].status, 'warn');
      assert.match(w.by['dashboard tls'].fix!, /^chmod 600 /);
      fs.chmodSync(path.join(dir, 'key.pem'), 0o600);
    });

    it('expiring in 10 days: warn', () => {
      const { r, by } = tls(cert('ten.pem', 10), 'key.pem');
      assert.equal(by['dashboard tls'].status, 'warn');
      assert.match(by['dashboard tls'].detail, /expires in (9|10) days/);
      assert.match(by['dashboard tls'].fix!, /^renew /);
      assert.equal(r.status, 0);
    });

    it('expired: FAIL', () => {
      const { r, by } = tls(cert('old.pem', -1), 'key.pem');
      assert.equal(by['dashboard tls'].status, 'FAIL');
      assert.match(by['dashboard tls'].detail, /expired on \d{4}-\d\d-\d\d/);
      assert.equal(r.status, 1);
    });

    it('a key that is not the certificate\'s: FAIL', () => {
      const c = cert('year2.pem', 365);
      cert('other.pem', 365, 'other-key.pem');
      const { r, by } = tls(c, 'other-key.pem');
      assert.equal(by['dashboard tls'].status, 'FAIL');
      assert.match(by['dashboard tls'].detail, /other-key\.pem is not the key of .*year2\.pem/);
      assert.equal(r.status, 1);
    });
  });

  (haveInfluxd() ? describe : describe.skip)('InfluxDB (a real influxd)', () => {
    const influx = new Influxd();
    before(async function () {
      this.timeout(30000);
      await influx.start();
    });
    after(async () => influx.cleanup());

    it('reachable: ok; its database missing with setup off: FAIL; a closed port: FAIL; --offline: skip', async () => {
      const c = config(`influx:\n  url: ${influx.url}\n  database: doctordb\n`);
      const { r, by } = doctorJson(['--config', c.file]);
      assert.equal(by.influx.status, 'ok', by.influx.detail);
      assert.match(by.influx.detail, /InfluxDB 1\.\S+ answers; database 'doctordb' does not exist yet, the first run creates it/);
      assert.equal(r.status, 0);
      const strict = config(`influx:\n  url: ${influx.url}\n  database: doctordb\n  setup: false\n`);
      assert.equal(doctorJson(['--config', strict.file]).by.influx.status, 'FAIL');
      await fetch(`${influx.url}/query?${new URLSearchParams({ q: 'CREATE DATABASE doctordb' })}`, { method: 'POST' });
      const made = doctorJson(['--config', strict.file]);
      assert.equal(made.by.influx.status, 'ok');
      assert.match(made.by.influx.detail, /database 'doctordb' exists/);
      const shows = await influx.query('SHOW DATABASES', '_internal');
      assert.deepEqual(shows.map((s) => s.name).filter((x) => x !== '_internal'), ['doctordb'], 'doctor created no database');

      const closed = config(`influx:\n  url: http://127.0.0.1:${await freePort()}\n`);
      const f = doctorJson(['--config', closed.file]);
      assert.equal(f.by.influx.status, 'FAIL');
      assert.match(f.by.influx.detail, /unreachable/);
      assert.match(f.by.influx.fix!, /start influxd or fix influx\.url/);
      assert.equal(f.r.status, 1);
      assert.equal(doctorJson(['--config', closed.file, '--offline']).by.influx.status, 'skip');
    });
  });

  it('usage mistakes are one line, exit 2', () => {
    const r = shadowim(['doctor', '--format', 'xml'], { env: NO_ENV });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, "shadowim: --format must be text or json, not 'xml'\n");
    assert.equal(shadowim(['doctor', '--help'], { env: NO_ENV }).status, 0);
  });
});
