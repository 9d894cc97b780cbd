// Seeded mutation fuzz of the files a user writes: the configuration (--config), the policy
// (--policy), the people CSV and LDIF the policy names, and signature overrides (<module>.yaml).
// Start from the documented examples (docs/*.md yaml blocks, analyzer/policy.example.yaml,
// analyzer/people.example.csv, signatures/*/data.yaml), mutate lines (delete, duplicate, swap,
// indent, values and keys replaced by lists, maps, numbers, NaN-ish text, 1 MB strings, tags,
// anchors, aliases, merge keys, a billion-laughs bomb) and bytes (BOM, NUL, CR, tabs, invalid UTF-8,
// flips, truncation). Each file must load, or be refused by the product's user-error type with one
// line naming the file: no TypeError, no stack trace, no hang, no memory blow-up, and no key the
// loader silently skipped. A sample goes through the real command line (analyze --config / --policy,
// policy check, signature overrides): exit 0 or 2 (1 for overrides, as documented), stderr empty or
// one `shadowim: ` line naming the file.
// SHADOWIM_FUZZ_SEED / SHADOWIM_FUZZ_SCALE as the other fuzz tests (test/helpers/fuzz.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { boundedIt } from '../helpers/bounded';
import { fuzzCases, fuzzSeconds, fuzzSeed, xorshift32 } from '../helpers/fuzz';
import { CLI, REPO } from '../helpers/paths';
import { Capture } from '../helpers/pcapgen';

type Rnd = () => number;
const pick = <T>(r: Rnd, a: readonly T[]): T => a[r() % a.length];

// ---- the documented examples the mutations start from ----

/** where hosts and absolute paths of the examples point: the temp folder and a closed local port */
function localized(text: string, dir: string): string {
  return text
    .replace(/\/(var\/lib|etc|run)\/(shadowim|clamav|ssl)\//g, `${dir}/state/`)
    .replace(/https?:\/\/[a-z0-9.-]+(:\d+)?/g, 'http://127.0.0.1:9')
    .replace(/host: [a-z0-9.-]+/g, 'host: 127.0.0.1');
}

/** the yaml blocks of docs/*.md: configuration examples, and the policy fragments among them (files.md's file rules) */
function docBlocks(dir: string): string[] {
  const out: string[] = [];
  for (const f of fs.readdirSync(path.join(REPO, 'docs')).filter((x) => x.endsWith('.md')).sort()) {
    const s = fs.readFileSync(path.join(REPO, 'docs', f), 'utf8');
    for (const m of s.matchAll(/```yaml\n([\s\S]*?)```/g)) out.push(localized(m[1], dir));
  }
  return out;
}

const POLICY = fs.readFileSync(path.join(REPO, 'analyzer', 'policy.example.yaml'), 'utf8');
const PEOPLE = fs.readFileSync(path.join(REPO, 'analyzer', 'people.example.csv'), 'utf8');
const LDIF = [
  'version: 1',
  'dn: CN=Dana Ortiz,OU=Staff,DC=corp,DC=example',
  'objectClass: user',
  'cn: Dana Ortiz',
  'sAMAccountName: dortiz',
  'mail: dana.ortiz@corp.example',
  'proxyAddresses: sip:dana.ortiz@corp.example',
  'memberOf: CN=Engineering,OU=Groups,DC=corp,DC=example',
  'displayName:: RMOjbmEgT3J0aXo=',
  '',
  'dn: CN=Engineering,OU=Groups,DC=corp,DC=example',
  'objectClass: group',
  'cn: Engineering',
  'member: CN=Dana Ortiz,OU=Staff,DC=corp,DC=example',
  '',
].join('\n');
/** the policy the people CSV and LDIF cases are read through */
const PEOPLE_POLICY = 'version: 1\npeople:\n  csv: people.csv\n  ldif: people.ldif\ngroups:\n  eng:\n    directory_groups: [Engineering]\n    allow: [{protocols: any}]\n';

const SIG_DIR = path.join(REPO, 'signatures');
const SIGNATURES = fs.readdirSync(SIG_DIR).filter((d) => fs.existsSync(path.join(SIG_DIR, d, 'data.yaml'))).sort()
  .map((id) => ({ id, text: fs.readFileSync(path.join(SIG_DIR, id, 'data.yaml'), 'utf8') }));

// ---- mutations ----

const MB = 'A'.repeat(1 << 20);
const VALUES = [
  '[a, b]', '{a: 1}', '[]', '{}', '0', '42', '-1', '-99999999999999999999', '99999999999999999999999', '1e400', '-1e400', '4.5',
  '.nan', '.inf', '-.inf', 'NaN', 'Infinity', '0x10', '0o17', '1_000', 'true', 'false', 'yes', 'off', 'null', '~', '', '""', "''",
  '"\\0"', '"a\\nb"', '"\\u2028"', '"\\e[31m"', '"\\x9b2J"', '!!binary aGVsbG8=', '!!js/function "function(){return 1}"', '!!js/undefined ~',
  '!!js/regexp /a/', '!!set {a, b}', '!!omap [a: 1]', '!!pairs [a: 1]', '!!str', '!!int "x"', '!!float x', '!!timestamp 2001-12-14',
  '!!map []', '!<tag:yaml.org,2002:str> x', '!local x', '*nosuch', '&anchor v', '2001-12-14', '12:30:00', '__proto__', 'constructor',
  '"|\\n  x"', '|\n  block\n  text', '>-\n  folded', '- a', '? a', ': x', '#', 'x: y: z', '[', '{', ']', '"unterminated', "'", '@x', '`x`',
  '%x', '&a [*a]',
];
/** slow to parse: one value replacement in 16 */
const HUGE = [MB, `"${MB}"`, `[${Array(20000).fill('1').join(',')}]`, '['.repeat(3000) + ']'.repeat(3000), '{a: '.repeat(2000) + '1' + '}'.repeat(2000)];
const value = (r: Rnd) => (r() % 16 ? pick(r, VALUES) : pick(r, HUGE));
const KEYS = ['__proto__', 'toString', 'constructor', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'isPrototypeOf', '<<', '? [a]\n', '"a\\nb"',
  '*nosuch', '!!binary aGVsbG8=', '1', 'null', '~', '""', 'true', '.nan', 'x'.repeat(10000), 'sensor', 'groups', 'files', 'hosts'];
const BOMB = (indent: string, key: string) => {
  const lines = [`${indent}${key}0: &b0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]`];
  for (let i = 1; i < 10; i++) lines.push(`${indent}${key}${i}: &b${i} [${Array(10).fill(`*b${i - 1}`).join(', ')}]`);
  return lines;
};

const KEY_LINE = /^(\s*(?:- )?)([^\s:#][^:#]*?)(\s*:)(?:(\s+)(.*))?$/;

function mutateLines(r: Rnd, text: string): string {
  const lines = text.split('\n');
  const at = () => r() % Math.max(1, lines.length);
  const indentOf = (l: string | undefined) => /^\s*/.exec(l ?? '')![0];
  switch (r() % 14) {
    case 0: lines.splice(at(), 1); break;
    case 1: { const i = at(); lines.splice(i, 0, lines[i] ?? ''); break; }
    case 2: { const i = at(), j = at(); [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? '']; break; }
    case 3: { const i = at(); const d = (r() % 9) - 4; lines[i] = d > 0 ? ' '.repeat(d) + (lines[i] ?? '') : (lines[i] ?? '').slice(-d); break; }
    case 4: { const i = at(); lines[i] = (lines[i] ?? '').replace(/^ +/, (s) => (r() % 2 ? '\t' : '\t'.repeat(s.length >> 1))); break; }
    case 5: case 6: case 7: {
      // a value replaced
      const cands = lines.map((l, i) => (KEY_LINE.test(l) ? i : -1)).filter((i) => i >= 0);
      if (!cands.length) break;
      const i = pick(r, cands);
      const m = KEY_LINE.exec(lines[i])!;
      lines[i] = `${m[1]}${m[2]}${m[3]} ${value(r).replace(/\n/g, `\n${indentOf(lines[i])}  `)}`;
      break;
    }
    case 8: {
      // a key replaced
      const cands = lines.map((l, i) => (KEY_LINE.test(l) ? i : -1)).filter((i) => i >= 0);
      if (!cands.length) break;
      const i = pick(r, cands);
      const m = KEY_LINE.exec(lines[i])!;
      lines[i] = `${m[1]}${pick(r, KEYS)}${m[3]}${m[4] ?? ''}${m[5] ?? ''}`;
      break;
    }
    case 9: {
      // an anchor on one value, its alias (or a merge of it) on another
      const cands = lines.map((l, i) => (KEY_LINE.test(l) && KEY_LINE.exec(l)![5] ? i : -1)).filter((i) => i >= 0);
      if (cands.length < 2) break;
      const a = pick(r, cands), b = pick(r, cands);
      const ma = KEY_LINE.exec(lines[a])!;
      lines[a] = `${ma[1]}${ma[2]}${ma[3]} &x ${ma[5]}`;
      const mb = KEY_LINE.exec(lines[b])!;
      if (r() % 3) lines[b] = `${mb[1]}${mb[2]}${mb[3]} *x`;
      else lines.splice(b + 1, 0, `${indentOf(lines[b])}<<: *x`);
      break;
    }
    case 10: {
      // a billion-laughs alias bomb, and a use of it
      const i = at();
      const ind = indentOf(lines[i]);
      lines.splice(i, 0, ...BOMB(ind, pick(r, ['lol', 'sensor', 'targets', 'groups', 'hosts'])));
      const cands = lines.map((l, k) => (KEY_LINE.test(l) && KEY_LINE.exec(l)![5] && !l.includes('&b') ? k : -1)).filter((k) => k >= 0);
      if (cands.length) {
        const k = pick(r, cands);
        const m = KEY_LINE.exec(lines[k])!;
        lines[k] = `${m[1]}${m[2]}${m[3]} *b9`;
      }
      break;
    }
    case 11: { const i = at(); lines.splice(i, 0, `${indentOf(lines[i])}<<: ${pick(r, ['{a: 1}', '[{a: 1}]', '*nosuch', '1', 'x'])}`); break; }
    case 12: lines.unshift(pick(r, ['%YAML 1.1\n---', '%YAML 1.2\n---', '%TAG ! tag:x,2000:\n---', '---', '--- !!map', '--- |', '%YAML 9.9\n---'])); break;
    default: lines.push(pick(r, ['---\nx: 1', '...', '---', '--- []', `${pick(r, KEYS)}: ${value(r)}`]));
  }
  return lines.join('\n');
}

function mutateBytes(r: Rnd, b: Buffer): Buffer {
  const at = () => r() % (b.length + 1);
  const ins = (i: number, x: Buffer) => Buffer.concat([b.subarray(0, i), x, b.subarray(i)]);
  switch (r() % 9) {
    case 0: return ins(0, Buffer.from([0xef, 0xbb, 0xbf]));
    case 1: return ins(at(), Buffer.from([0]));
    case 2: return ins(at(), Buffer.from(pick(r, [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc0, 0xaf], [0x80]])));
    case 3: return Buffer.from(b.toString('latin1').replace(/\n/g, r() % 2 ? '\r\n' : '\r'), 'latin1');
    case 4: return Buffer.from(b.toString('latin1').replace(/ {2}/g, () => (r() % 4 ? '  ' : '\t')), 'latin1');
    case 5: {
      const c = Buffer.from(b);
      for (let n = 1 + (r() % 8); n-- > 0 && c.length;) c[r() % c.length] ^= 1 << (r() % 8);
      return c;
    }
    case 6: return b.subarray(0, at());
    case 7: return ins(at(), Buffer.from(pick(r, [':', '-', '?', '[', ']', '{', '}', '&', '*', '!', '|', '>', "'", '"', '%', '@', '#', '`', ',', '\t', '\u2028', '\u0085'])));
    default: return ins(at(), Buffer.from(pick(r, ['\x1b[2J', '\u00a0', '\ufeff', '\u202e', '\r'])));
  }
}

function mutate(r: Rnd, text: string): Buffer {
  let s = text;
  for (let n = 1 + (r() % 3); n-- > 0;) s = mutateLines(r, s);
  let b: Buffer = Buffer.from(s);
  if (r() % 3 === 0) for (let n = 1 + (r() % 2); n-- > 0;) b = mutateBytes(r, b);
  return b;
}

// ---- what a refusal must look like ----

/** naming the file; the command line prints it as one line of bounded length whatever it holds
 * (common/stderr.ts escapes line breaks and cuts a 1 MB value short), which the command-line sample checks */
function checkMessage(msg: string, file: string, where: string): void {
  assert.ok(msg.includes(file), `${where}: message does not name ${file}: ${msg.slice(0, 300)}`);
}

function describeCase(kind: string, i: number, bytes: Buffer): string {
  const s = bytes.toString('latin1');
  return `${kind} case ${i} (${bytes.length} bytes): ${JSON.stringify(s.length > 400 ? `${s.slice(0, 400)}…` : s)}`;
}

function tmpDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-cfgfuzz-'));
  fs.mkdirSync(path.join(d, 'state', 'signatures'), { recursive: true });
  fs.mkdirSync(path.join(d, 'intel'));
  for (const f of ['urlhaus.txt', 'phishing.txt', 'bad-hashes.csv', 'local.hsb']) fs.writeFileSync(path.join(d, 'intel', f), '');
  fs.writeFileSync(path.join(d, 'state', 'siem-ca.pem'), '');
  fs.writeFileSync(path.join(d, 'people.example.csv'), PEOPLE);
  fs.writeFileSync(path.join(d, 'state', 'people.example.csv'), PEOPLE);
  fs.writeFileSync(path.join(d, 'state', 'policy.yaml'), POLICY); // the policy: of the full example
  fs.writeFileSync(path.join(d, 'people.csv'), PEOPLE);
  fs.writeFileSync(path.join(d, 'people.ldif'), LDIF);
  return d;
}

/** how many cases each kind ran, for the record */
const ran: Record<string, { cases: number; accepted: number; ms: number }> = {};
const t0 = Date.now();
const tally = (kind: string, ok: boolean) => {
  const t = (ran[kind] ??= { cases: 0, accepted: 0, ms: 0 });
  t.ms = Date.now() - t0;
  t.cases++;
  if (ok) t.accepted++;
};

describe('configuration files: seeded mutation fuzz', function () {
  boundedIt(__filename, 'in process: each mutated config, policy, people CSV/LDIF and signature override loads or is one user error naming the file', fuzzSeconds(60), function () {
    this.timeout(fuzzSeconds(60) * 1000);
    const { ConfigError } = require('../../common/configError') as typeof import('../../common/configError');
    const { loadConfig, parseConfig } = require('../../common/config') as typeof import('../../common/config');
    const { loadPolicyFile, parsePolicy } = require('../../analyzer/policy') as typeof import('../../analyzer/policy');
    const { parseFilesConfig } = require('../../analyzer/files/config') as typeof import('../../analyzer/files/config');
    const { parseLinksConfig } = require('../../analyzer/links') as typeof import('../../analyzer/links');
    const { parseSinks } = require('../../outputs/sinks/config') as typeof import('../../outputs/sinks/config');
    const { loadRegistry } = require('../../signatures/registry') as typeof import('../../signatures/registry');
    const { Engine } = require('../../signatures/engine') as typeof import('../../signatures/engine');
    const YAML = require('yaml') as typeof import('yaml');
    const SECTIONS = ['sensor', 'policy', 'signatures', 'dashboard', 'report', 'home_nets', 'store', 'influx', 'archive', 'sinks', 'files', 'links'];
    const dir = tmpDir();
    // the most the heap grew within one case: an expansion shows there whatever the number of cases, while
    // the garbage of earlier cases (counted in heapUsed until a collection, ~670 MB at 10x the cases) does not
    let heapMark = 0;
    let heapGrowth = 0;
    const caseStart = () => (heapMark = process.memoryUsage().heapUsed);
    const caseEnd = () => (heapGrowth = Math.max(heapGrowth, process.memoryUsage().heapUsed - heapMark));
    const userError = (e: unknown, file: string, where: string) => {
      if (!(e instanceof ConfigError)) assert.fail(`${where}\n  threw ${(e as Error)?.constructor?.name}, not the user-error type: ${(e as Error)?.stack ?? e}`);
      checkMessage(e.message, file, where);
    };
    try {
      // the configuration, and the sections its own modules check (files, links, sinks)
      const cfgFile = path.join(dir, 'shadowim.yaml');
      const policyFile = path.join(dir, 'policy.yaml');
      // each documented block is a whole configuration, or else a policy fragment
      const seeds: string[] = [];
      const policySeeds = [POLICY];
      for (const b of docBlocks(dir)) {
        try {
          const c = parseConfig(b, cfgFile);
          parseFilesConfig(c.extra.files, dir, cfgFile);
          parseLinksConfig(c.extra.links, dir, cfgFile);
          parseSinks(c.extra.sinks, cfgFile);
          seeds.push(b);
        } catch (e) {
          try {
            parsePolicy(b, policyFile);
          } catch {
            assert.fail(`a documented example is neither a configuration nor a policy: ${(e as Error).message}`);
          }
          policySeeds.push(b);
        }
      }
      assert.ok(seeds.length >= 4, 'docs yaml examples');
      let r = xorshift32(fuzzSeed(0xc0f1));
      for (let i = 0, n = fuzzCases(300); i < n; i++) {
        caseStart();
        const bytes = i < seeds.length ? Buffer.from(seeds[i]) : mutate(r, pick(r, seeds));
        fs.writeFileSync(cfgFile, bytes);
        const where = describeCase('config', i, bytes);
        let cfg;
        try {
          cfg = loadConfig({ file: cfgFile, env: {}, cwd: dir });
        } catch (e) {
          assert.ok(i >= seeds.length, `a documented example is refused: ${(e as Error).message}`);
          userError(e, cfgFile, where);
          tally('config', false);
          continue;
        }
        // accepted: every top-level key was a section it read (none silently skipped)
        const doc = YAML.parseDocument(bytes.toString('utf8'));
        if (YAML.isMap(doc.contents)) {
          for (const p of doc.contents.items) {
            const k = YAML.isScalar(p.key) ? String(p.key.value) : '?';
            assert.ok(SECTIONS.includes(k), `${where}\n  accepted with top-level key '${k.slice(0, 80)}', which is no section`);
          }
        }
        try {
          parseFilesConfig(cfg.extra.files, dir, cfgFile);
          parseLinksConfig(cfg.extra.links, dir, cfgFile);
          parseSinks(cfg.extra.sinks, cfgFile);
        } catch (e) {
          assert.ok(i >= seeds.length, `a documented example is refused: ${(e as Error).message}`);
          userError(e, cfgFile, `${where} (its files/links/sinks section)`);
          tally('config', false);
          continue;
        }
        tally('config', true);
        caseEnd();
      }
      // the policy, and the people CSV and LDIF it reads
      r = xorshift32(fuzzSeed(0x9011c7));
      for (let i = 0, n = fuzzCases(250); i < n; i++) {
        caseStart();
        const bytes = i < policySeeds.length ? Buffer.from(policySeeds[i]) : mutate(r, pick(r, policySeeds));
        fs.writeFileSync(policyFile, bytes);
        const where = describeCase('policy', i, bytes);
        try {
          loadPolicyFile(policyFile);
          tally('policy', true);
        } catch (e) {
          assert.ok(i >= policySeeds.length, `an example policy is refused: ${(e as Error).message}`);
          userError(e, policyFile, where);
          tally('policy', false);
        }
        caseEnd();
      }
      const peoplePolicy = path.join(dir, 'people-policy.yaml');
      fs.writeFileSync(peoplePolicy, PEOPLE_POLICY);
      loadPolicyFile(peoplePolicy);
      r = xorshift32(fuzzSeed(0x9e0b1e));
      for (let i = 0, n = fuzzCases(200); i < n; i++) {
        const csv = i % 2 === 0;
        const bytes = mutate(r, csv ? PEOPLE : LDIF);
        fs.writeFileSync(path.join(dir, csv ? 'people.csv' : 'people.ldif'), bytes);
        const where = describeCase(csv ? 'people CSV' : 'people LDIF', i, bytes);
        try {
          loadPolicyFile(peoplePolicy);
          tally(csv ? 'people csv' : 'people ldif', true);
        } catch (e) {
          userError(e, peoplePolicy, where);
          tally(csv ? 'people csv' : 'people ldif', false);
        }
        fs.writeFileSync(path.join(dir, 'people.csv'), PEOPLE);
        fs.writeFileSync(path.join(dir, 'people.ldif'), LDIF);
      }
      // signature overrides: loaded as analyze loads them, then an engine built on them
      const over = path.join(dir, 'overrides');
      fs.mkdirSync(over);
      r = xorshift32(fuzzSeed(0x519));
      for (let i = 0, n = fuzzCases(80); i < n; i++) {
        const sig = SIGNATURES[i % SIGNATURES.length];
        const file = path.join(over, `${sig.id}.yaml`);
        const bytes = mutate(r, sig.text);
        fs.writeFileSync(file, bytes);
        const where = describeCase(`override ${sig.id}`, i, bytes);
        try {
          new Engine(loadRegistry({ overrideDir: over }), { emit: () => {} });
          tally('override', true);
        } catch (e) {
          const err = e as Error;
          // plain Error is the registry's refusal (exit 1, as signatures list documents); a TypeError, RangeError, ... is a bug
          if (!(err instanceof ConfigError) && err?.constructor !== Error) assert.fail(`${where}\n  threw ${err?.constructor?.name}: ${err?.stack ?? err}`);
          checkMessage(err.message, file, where);
          tally('override', false);
        }
        fs.rmSync(file);
      }
      // the alias bomb expanded nowhere: the heap stayed small (a 10^10-element expansion would not)
      assert.ok(heapGrowth < 512 * 1024 * 1024, `heap grew by ${Math.round(heapGrowth / 1048576)} MB in one case`);
      console.log(`      cases: ${Object.entries(ran).map(([k, v]) => `${k} ${v.cases} (${v.accepted} accepted, done at ${v.ms} ms)`).join(', ')}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  boundedIt(__filename, 'command line: a sample of mutated files exits 0 or 2 with at most one stderr line naming the file, in time and memory', fuzzSeconds(100), async function () {
    this.timeout(fuzzSeconds(100) * 1000);
    const dir = tmpDir();
    const cap = new Capture();
    cap.tcp('10.20.0.15:40000', '198.51.100.7:6667').open().send('c', 'NICK dana\r\nUSER dana 0 * :Dana\r\n').send('s', ':srv 001 dana :Welcome\r\n')
      .send('c', 'PRIVMSG #ops :card 4111 1111 1111 1111\r\n').close();
    const capture = path.join(dir, 'c.pcap');
    fs.writeFileSync(capture, cap.pcap());
    const run = (args: string[], env: Record<string, string> = {}) => new Promise<{ status: number | null; signal: string | null; stderr: string; ms: number }>((resolve) => {
      const t0 = Date.now();
      // a small heap: an alias bomb expanded in full dies here instead of passing slowly
      const child = spawn(process.execPath, ['--max-old-space-size=256', CLI, ...args], {
        cwd: dir, env: { ...process.env, SHADOWIM_CONFIG: '', SHADOWIM_SIGNATURES_DIR: '', SHADOWIM_DEBUG: '', ...env }, stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
      const timer = setTimeout(() => child.kill('SIGKILL'), fuzzSeconds(20) * 1000);
      child.on('close', (status, signal) => {
        clearTimeout(timer);
        resolve({ status, signal, stderr, ms: Date.now() - t0 });
      });
    });
    const r = xorshift32(fuzzSeed(0xc11));
    const { parseConfig } = require('../../common/config') as typeof import('../../common/config');
    // without influx.url: a run that sends nowhere would wait out close_timeout_ms
    const seeds = docBlocks(dir).map((b) => b.replace(/^ {2}url: http:\/\/127\.0\.0\.1:9 .*\n/m, '')).filter((b) => {
      try {
        return !!parseConfig(b, 'x') && !/block_types/.test(b);
      } catch {
        return false;
      }
    });
    const jobs: Array<{ where: string; file: string; args: string[]; env?: Record<string, string>; ok: number[] }> = [];
    for (let i = 0, n = fuzzCases(16); i < n; i++) {
      const kind = i % 3;
      if (kind === 0) {
        const file = path.join(dir, `config-${i}.yaml`);
        const bytes = i === 0 ? Buffer.from(seeds.find((s) => /^influx:/m.test(s))!) : mutate(r, pick(r, seeds));
        fs.writeFileSync(file, bytes);
        jobs.push({ where: describeCase('config', i, bytes), file, args: ['analyze', capture, '-q', '--format', 'jsonl', '--config', file], ok: [0, 2] });
      } else if (kind === 1) {
        const file = path.join(dir, `policy-${i}.yaml`);
        const bytes = i === 1 ? Buffer.from(POLICY) : mutate(r, POLICY);
        fs.writeFileSync(file, bytes);
        const args = i % 2 ? ['analyze', capture, '-q', '--format', 'jsonl', '--policy', file] : ['policy', 'check', file];
        jobs.push({ where: describeCase('policy', i, bytes), file, args, ok: [0, 2] });
      } else {
        const sig = SIGNATURES[r() % SIGNATURES.length];
        const over = path.join(dir, `over-${i}`);
        fs.mkdirSync(over);
        const file = path.join(over, `${sig.id}.yaml`);
        const bytes = mutate(r, sig.text);
        fs.writeFileSync(file, bytes);
        // a broken override is exit 1 (test/signatures/modern-signatures-cli.test.ts)
        jobs.push({ where: describeCase(`override ${sig.id}`, i, bytes), file, args: ['analyze', capture, '-q', '--format', 'jsonl'], env: { SHADOWIM_SIGNATURES_DIR: over }, ok: [0, 1] });
      }
    }
    try {
      const failures: string[] = [];
      // two at a time (the CI host has two cores)
      for (let i = 0; i < jobs.length; i += 2) {
        const batch = jobs.slice(i, i + 2);
        const results = await Promise.all(batch.map((j) => run(j.args, j.env)));
        batch.forEach((j, k) => {
          const res = results[k];
          const lines = res.stderr.split('\n').filter((l) => l !== '');
          const bad = (why: string) => failures.push(`${j.where}\n  shadowim ${j.args.join(' ')}: ${why}; status ${res.status} ${res.signal ?? ''} after ${res.ms} ms; stderr: ${res.stderr.slice(0, 800)}`);
          if (res.signal) return bad('killed (too slow, or out of memory)');
          if (!j.ok.includes(res.status!)) return bad(`exit status not ${j.ok.join(' or ')}`);
          if (/\n\s+at .*:\d+/.test(res.stderr) || /FATAL ERROR|heap out of memory/.test(res.stderr)) return bad('a stack trace or a crash');
          // (warnings: each its own `shadowim: ` line)
          if (res.status === 0) return lines.every((l) => l.startsWith('shadowim: ')) || bad('stderr on success that is not `shadowim: ` lines');
          if (lines.length !== 1 || !lines[0].startsWith('shadowim: ')) return bad('not one `shadowim: ` line');
          // the file, or (a configuration) a file it names
          if (!lines[0].includes(j.file) && !(j.args.includes('--config') && lines[0].includes(dir))) return bad('the line does not name the file');
          if (lines[0].length > 4096) return bad(`a line of ${lines[0].length} characters`);
        });
      }
      assert.deepEqual(failures, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
