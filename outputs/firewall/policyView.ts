// What a firewall can enforce of a policy: forbidden protocols (all IM unless a group is allowed it),
// exceptions for the networks and hosts of groups allowed a protocol, and sanctioned server
// addresses. Identities, hours and chat-versus-file rules cannot be expressed by address rules: they
// are named in the exception's reason or skipped, and the analyzer keeps enforcing them.
import { loadPolicyFile } from '../../analyzer/policy';
import type { ModelInput } from './model';

export function firewallView(file: string): Pick<ModelInput, 'exceptions' | 'sanctioned'> {
  const p = loadPolicyFile(file);
  const exceptions: NonNullable<ModelInput['exceptions']> = [];
  for (const g of p.groups) {
    const sources = g.networks.map((c) => c.text);
    if (!sources.length) continue; // a group of identities only has no address to allow
    for (const rule of g.allow) {
      if (!rule.chat && !rule.files) continue;
      const hours = rule.schedule ? ', hours not enforced here' : '';
      exceptions.push({ sources, protocols: rule.protocols ? [...rule.protocols] : ['*'], reason: `group ${g.name}${hours}` });
    }
  }
  return { exceptions, sanctioned: [...p.sanctionedNets.map((c) => c.text), ...p.sanctionedHosts] };
}
