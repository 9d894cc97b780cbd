// Windows Defender Firewall, as PowerShell (New-NetFirewallRule) in one rule group.
// Block rules take precedence over allow rules there, so exceptions cannot be expressed as rules:
// deploy the script (e.g. by GPO) only to the machines the policy does not authorize.
import type { RuleModel } from '../model';
import { chunk } from '../model';
import { header, type RuleFormat } from './types';

function render(model: RuleModel): string {
  const out: string[] = ['Remove-NetFirewallRule -Group "shadowim-im" -ErrorAction SilentlyContinue'];
  const action = model.action === 'block' ? '-Action Block' : '-Action Allow -Enabled False';
  const sanctioned = new Set(model.sanctioned.map((c) => c.text));
  for (const t of model.targets) {
    const addrs = t.cidrs.filter((c) => !sanctioned.has(c.text)).map((c) => `'${c.text}'`);
    chunk(addrs, 500).forEach((part, i) =>
      out.push(`New-NetFirewallRule -Group "shadowim-im" -DisplayName "shadowim ${t.protocol} servers${i ? ` ${i + 1}` : ''}" -Direction Outbound ${action} -RemoteAddress @(${part.join(', ')})`));
    if (t.ports.tcp.length) out.push(`New-NetFirewallRule -Group "shadowim-im" -DisplayName "shadowim ${t.protocol} TCP ports (port-only)" -Direction Outbound ${action} -Protocol TCP -RemotePort @(${t.ports.tcp.join(', ')})`);
    if (t.ports.udp.length) out.push(`New-NetFirewallRule -Group "shadowim-im" -DisplayName "shadowim ${t.protocol} UDP ports (port-only)" -Direction Outbound ${action} -Protocol UDP -RemotePort @(${t.ports.udp.join(', ')})`);
  }
  const notes = ['Run in an elevated PowerShell. Block rules win over allow rules in Windows Defender Firewall:',
    'deploy only to machines the policy does not authorize (exceptions and groups are not expressible here).'];
  if (model.exceptions.length) notes.push(`Policy exceptions not rendered: ${model.exceptions.map((e) => e.reason).join(', ')}`);
  if (model.action === 'log') notes.push('Windows Firewall logs per profile, not per rule: rules are created disabled; use --action block to enforce.');
  return header(model, '#', notes) + out.join('\n') + '\n';
}

export const windows: RuleFormat = { id: 'windows', description: 'Windows Defender Firewall (PowerShell New-NetFirewallRule)', render };
