// The real tools that check a firewall/DNS export, where they are installed here: iptables-restore and
// ip6tables-restore --test, nft -c -f (these need root), suricata -T (needs its suricata.yaml),
// named-checkzone and unbound-checkconf. Shared by firewall.test, dns-export's callers and the fuzz.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { haveCommand } from './netns';

export const isRoot = process.getuid?.() === 0;

export interface ExportCheck {
  /** the command that checks this format */
  tool: string;
  /** it is installed (and can run) here; otherwise the test skips */
  ready: boolean;
  /** asserts that the tool accepts FILE (a scratch directory for its logs is made beside FILE) */
  check(file: string): void;
}

function run(cmd: string, args: string[], what: string): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${what} rejected the export:\n${r.stderr}${r.stdout}`);
}

const SURICATA_YAML = '/etc/suricata/suricata.yaml';

const CHECKS: Record<string, () => ExportCheck> = {
  iptables: () => ({ tool: 'iptables-restore', ready: isRoot && haveCommand('iptables-restore'), check: (f) => run('iptables-restore', ['--test', f], 'iptables-restore --test') }),
  ip6tables: () => ({ tool: 'ip6tables-restore', ready: isRoot && haveCommand('ip6tables-restore'), check: (f) => run('ip6tables-restore', ['--test', f], 'ip6tables-restore --test') }),
  nftables: () => ({ tool: 'nft', ready: isRoot && haveCommand('nft'), check: (f) => run('nft', ['-c', '-f', f], 'nft -c -f') }),
  suricata: () => ({
    tool: 'suricata',
    ready: haveCommand('suricata') && fs.existsSync(SURICATA_YAML),
    check: (f) => {
      const log = fs.mkdtempSync(path.join(path.dirname(f), 'suri-'));
      const r = spawnSync('suricata', ['-T', '-c', SURICATA_YAML, '-S', f, '-l', log], { encoding: 'utf8' });
      assert.equal(r.status, 0, `suricata -T rejected the rules:\n${r.stderr}${r.stdout}`);
      assert.doesNotMatch(r.stderr + r.stdout, /error parsing signature|failed to add/i);
    },
  }),
  rpz: () => ({
    tool: 'named-checkzone',
    ready: haveCommand('named-checkzone'),
    check: (f) => {
      const r = spawnSync('named-checkzone', ['rpz.shadowim', f], { encoding: 'utf8' });
      assert.equal(r.status, 0, `named-checkzone rejected the zone:\n${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stdout + r.stderr, /duplicate|ignored|out of space|too long/i);
    },
  }),
  unbound: () => ({ tool: 'unbound-checkconf', ready: haveCommand('unbound-checkconf'), check: (f) => run('unbound-checkconf', [f], 'unbound-checkconf') }),
};

/** the real tool for an export format, or undefined for the formats no tool here checks (pf, Cisco, Windows, PAN-OS) */
export function exportCheck(format: string): ExportCheck | undefined {
  return CHECKS[format]?.();
}
