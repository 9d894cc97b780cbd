// `shadowim policy check FILE`: validates a policy and explains it in plain words.
import type { Command } from '../main';
import { parseOrHelp, UsageError, type OptionSpec } from '../args';
import { stderrLine } from '../../common/stderr';

const SPECS: OptionSpec[] = [{ name: 'help', short: 'h', help: 'show this help' }];
const USAGE = 'shadowim policy check FILE | shadowim policy default';
const DESCRIPTION = [
  'check FILE   validate a policy file (YAML) and explain it: groups, who may use which IM when,',
  '             sanctioned servers, DLP settings. Exit 0 when valid; one line and exit 2 when not.',
  'default      explain the policy used without --policy (every public IM is unauthorized).',
  'An annotated example: analyzer/policy.example.yaml.',
].join('\n');

export const command: Command = {
  summary: 'validate and explain a policy file (policy check FILE)',
  async run(argv) {
    const args = parseOrHelp(argv, SPECS, 'policy', USAGE, DESCRIPTION);
    if (!args) return 0;
    const { positional } = args;
    const [sub, file, extra] = positional;
    const { defaultPolicy, loadPolicyFile } = require('../../analyzer/policy') as typeof import('../../analyzer/policy');
    const { explainPolicy } = require('../../analyzer/explain') as typeof import('../../analyzer/explain');
    if (sub === 'default' && !file) {
      process.stdout.write(explainPolicy(defaultPolicy()) + '\n');
      return 0;
    }
    if (sub !== 'check') throw new UsageError(`usage: ${USAGE}`);
    if (!file || extra) throw new UsageError(`policy check needs exactly one FILE; usage: ${USAGE}`);
    let policy;
    try {
      policy = loadPolicyFile(file);
    } catch (e) {
      stderrLine(`shadowim: ${(e as Error).message}`);
      return 2; // as analyze --policy: a mistake in configuration (docs/sensor.md, exit status)
    }
    process.stdout.write(explainPolicy(policy) + '\n');
    return 0;
  },
};
