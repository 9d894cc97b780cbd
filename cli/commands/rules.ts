// `shadowim rules --format F`: firewall/IPS rules for the IM protocols the policy forbids.
import fs from 'node:fs';
import type { Command } from '../main';
import { parseOrHelp, UsageError, type OptionSpec } from '../args';
import { whyCannotWrite } from '../../common/fsError';

const SPECS: OptionSpec[] = [
  { name: 'format', value: true, arg: 'FORMAT', help: 'iptables|ip6tables|nftables|pf|cisco-asa|cisco-ios|windows|paloalto|suricata|rpz|unbound' },
  { name: 'action', value: true, arg: 'block|log', help: 'block (default) or only log matching traffic' },
  { name: 'policy', value: true, arg: 'FILE', config: 'policy', help: 'policy file: forbidden protocols, authorized groups and sanctioned servers (default policy: all IM forbidden)' },
  { name: 'events', value: true, arg: 'FILE', repeat: true, help: 'JSONL from `shadowim analyze`: add the servers observed in its sessions' },
  { name: 'store', value: true, arg: 'PATH', help: 'SQLite store: add the servers observed by the sensors' },
  { name: 'out', value: true, arg: 'FILE', help: 'write to FILE instead of standard output' },
  { name: 'list-formats', help: 'list the formats and exit' },
  { name: 'help', short: 'h', help: 'show this help' },
];

const USAGE = 'shadowim rules --format FORMAT [options]';
const DESCRIPTION = `Builds rules from the signatures' known endpoints (ports, host names, address ranges), the servers
observed by the sensors, and the policy's exceptions, which come first.`;

export const command: Command = {
  summary: 'export firewall/IPS rules that block or log the forbidden IM protocols',
  async run(argv) {
    const args = parseOrHelp(argv, SPECS, 'rules', USAGE, DESCRIPTION);
    if (!args) return 0;
    const { opts } = args;
    const { FORMATS } = require('../../outputs/firewall/formats') as typeof import('../../outputs/firewall/formats');
    if (opts['list-formats']) {
      for (const f of FORMATS) console.log(`${f.id.padEnd(10)} ${f.description}`);
      return 0;
    }
    const fmt = FORMATS.find((f) => f.id === opts.format);
    if (!fmt) throw new UsageError(`${opts.format ? `unknown format '${opts.format}'` : 'missing --format'}; choose one of ${FORMATS.map((f) => f.id).join(', ')}`);
    const action = (opts.action as string | undefined) ?? 'block';
    if (action !== 'block' && action !== 'log') throw new UsageError(`--action must be block or log, not '${action}'`);
    const { buildRuleInput, EventsFileError } = require('../../outputs/firewall/inputs') as typeof import('../../outputs/firewall/inputs');
    const { buildModel } = require('../../outputs/firewall/model') as typeof import('../../outputs/firewall/model');
    const { StoreError } = require('../../storage/store') as typeof import('../../storage/store');
    let input: ReturnType<typeof buildRuleInput>;
    try {
      input = buildRuleInput({
        policyFile: opts.policy as string | undefined,
        eventFiles: (opts.events as string[] | undefined) ?? [],
        store: opts.store as string | undefined,
      });
    } catch (e) {
      // a file named by --store or --events that cannot be used: exit 2, as search and report, and --out
      if (e instanceof StoreError || e instanceof EventsFileError) throw new UsageError(e.message);
      throw e;
    }
    const { ExportError } = require('../../outputs/firewall/formats/types') as typeof import('../../outputs/firewall/formats/types');
    let text: string;
    try {
      text = fmt.render(buildModel({ ...input, action }));
    } catch (e) {
      // a policy the format cannot express (too many sanctioned names for one Suricata rule): exit 2
      if (e instanceof ExportError) throw new UsageError(`${fmt.id}: ${e.message}`);
      throw e;
    }
    if (opts.out) writeWhole(opts.out as string, text);
    else process.stdout.write(text);
    return 0;
  },
};

/**
 * Writes the rule set beside FILE and renames it over FILE: a firewall that loads FILE never sees half a
 * rule set, and a failed write leaves the previous FILE as it was.
 */
function writeWhole(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.unlinkSync(tmp);
    } catch {}
    // EISDIR from the rename: FILE is a directory (the temporary file itself could be written)
    throw new UsageError(`cannot write ${file}: ${whyCannotWrite(e, file)}; give --out a file in a writable directory, or leave it out for standard output`);
  }
}
