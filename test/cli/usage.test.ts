// The command line's own usage: no command is a usage error (exit 2, the list on standard error, so a
// script piping stdout sees nothing); --help is an answer (exit 0, standard output); an unknown
// command is one line naming what to run.
import assert from 'node:assert/strict';
import { shadowim } from '../helpers/run';
import { shortLine } from '../../common/stderr';

describe('cli: usage without a command', () => {
  it('no command: the list of commands on stderr, nothing on stdout, exit 2', () => {
    const r = shadowim([]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^usage: shadowim \[--config FILE\] <command>/);
    assert.match(r.stderr, /^ {2}analyze {6}/m);
  });

  it('--help and help: the same list on stdout, exit 0', () => {
    for (const h of ['--help', '-h', 'help']) {
      const r = shadowim([h]);
      assert.equal(r.status, 0, h);
      assert.match(r.stdout, /^usage: shadowim /, h);
      assert.equal(r.stderr, '', h);
    }
  });

  it('an unknown command or option: one line, exit 2, naming the near one when a typo is likely', () => {
    const cases: Array<[string[], string]> = [
      [['analyse', 'x.pcap'], "unknown command 'analyse' (did you mean 'analyze'?); run 'shadowim --help' for the list"],
      [['frobnicate'], "unknown command 'frobnicate'; run 'shadowim --help' for the list"],
      [['analyze', 'x.pcap', '--max-flow', '5'], "unknown option --max-flow for 'analyze' (did you mean --max-flows?); see 'shadowim analyze --help'"],
      [['analyze', 'x.pcap', '--fromat=text'], "unknown option --fromat for 'analyze' (did you mean --format?); see 'shadowim analyze --help'"],
      [['analyze', 'x.pcap', '--form', 'text'], "unknown option --form for 'analyze' (did you mean --format?); see 'shadowim analyze --help'"],
      [['analyze', 'x.pcap', '--zzz'], "unknown option --zzz for 'analyze'; see 'shadowim analyze --help'"],
      [['analyze', 'x.pcap', `--${'q'.repeat(5000)}`], `unknown option --${'q'.repeat(5000)} for 'analyze'; see 'shadowim analyze --help'`],
    ];
    for (const [args, line] of cases) {
      const r = shadowim(args);
      assert.equal(r.status, 2, args.join(' '));
      // an over-long line (the 5,000-character option) has its middle cut (common/stderr.ts)
      assert.equal(r.stderr, `${shortLine(`shadowim: ${line}`)}\n`);
    }
  });

  // review of 30 November: `--policy "$POLICY"` with the variable unset ran the built-in policy (the
  // firewall export then blocked what the policy sanctions), `--store ''` stored nothing, exit 0
  it('an empty file, folder or store option (on the command line or in the config): one line, exit 2, nothing run', () => {
    const fs = require('node:fs') as typeof import('node:fs'), os = require('node:os') as typeof import('node:os'), path = require('node:path') as typeof import('node:path');
    const cases: Array<[string[], string]> = [
      [['analyze', 'x.pcap', '--policy', ''], "--policy is empty: it needs a file name (FILE); give one, or leave the option out for the default; see 'shadowim analyze --help'"],
      [['analyze', 'x.pcap', '--store='], "--store is empty: it needs a file name (PATH); give one, or leave the option out for the default; see 'shadowim analyze --help'"],
      [['analyze', 'x.pcap', '--out', ''], "--out is empty: it needs a folder (DIR); give one, or leave the option out for the default; see 'shadowim analyze --help'"],
      [['rules', '--format', 'iptables', '--policy', ''], "--policy is empty: it needs a file name (FILE); give one, or leave the option out for the default; see 'shadowim rules --help'"],
    ];
    for (const [args, line] of cases) {
      const r = shadowim(args);
      assert.deepEqual([r.status, r.stderr, r.stdout], [2, `shadowim: ${line}\n`, ''], args.join(' '));
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-empty-'));
    try {
      fs.writeFileSync(path.join(dir, 'c.yaml'), "policy: ''\n");
      const r = shadowim(['--config', path.join(dir, 'c.yaml'), 'rules', '--format', 'iptables']);
      assert.deepEqual([r.status, r.stderr, r.stdout], [2, `shadowim: ${path.join(dir, 'c.yaml')}:1: policy is empty: give a path, or remove the key for the default\n`, '']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('serve --policy that is a directory or missing: one line, exit 2, before anything listens', () => {
    const os = require('node:os') as typeof import('node:os');
    const path = require('node:path') as typeof import('node:path');
    for (const [p, why] of [[os.tmpdir(), 'is a directory'], [path.join(os.tmpdir(), 'shadowim-no-such-policy.yaml'), 'no such file']]) {
      const r = shadowim(['serve', '--policy', p, '--port', '0'], { timeout: 20000 });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `shadowim: --policy ${p}: ${why}; give the policy file the sensors use\n`);
    }
  });
});
