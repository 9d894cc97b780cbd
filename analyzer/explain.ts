// A policy in plain words, for `shadowim policy check`.
import type { Policy } from './policy';
import { BUILTIN_DETECTORS } from './dlp/scanner';
import { knownProtocols } from './vocabulary';
import { escapeControl } from '../common/stderr';

function dur(ms: number): string {
  if (ms === 0) return 'no suppression';
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}


/** Things that are valid but probably not what the author meant. */
export function policyWarnings(p: Policy): string[] {
  const known = knownProtocols();
  const out: string[] = [];
  for (const g of p.groups) {
    if (!g.networks.length && !g.users.size) out.push(`group '${g.name}' has no networks, hosts or users: its rules apply to nobody`);
    for (const r of g.allow) {
      for (const proto of r.protocols ?? []) {
        if (!known.has(proto)) out.push(`group '${g.name}' (line ${r.line}) names protocol '${proto}', which no signature reports (known: ${[...known].join(', ')})`);
      }
    }
  }
  return out;
}

export function explainPolicy(p: Policy): string {
  const L: string[] = [];
  L.push(`Policy ${p.source}: valid.`);
  for (const w of policyWarnings(p)) L.push(`Warning: ${w}.`);
  L.push('');
  if (!p.groups.length) {
    L.push('Groups: none. Every IM session to a server that is not sanctioned raises an unauthorized_im alert.');
  } else {
    L.push(`Groups (${p.groups.length}); a session from anyone outside them, or using a protocol their rules do not name, is unauthorized:`);
    for (const g of p.groups) {
      const members: string[] = [];
      if (g.networks.length) members.push(`addresses ${g.networks.map((n) => n.text).join(', ')}`);
      if (g.users.size) members.push(`users ${g.userLabels.join(', ')}`);
      const where = g.zones ? ` — only in tunnel zone${g.zones.size > 1 ? 's' : ''} ${[...g.zones].map((z) => z || 'none (outside zoned tunnels)').join(', ')}` : '';
      L.push(`  ${g.name}: ${members.length ? members.join('; ') : 'no members (its rules apply to nobody)'}${where}`);
      if (!g.allow.length) L.push('    may use no IM at all');
      for (const r of g.allow) {
        const protos = r.protocols ? [...r.protocols].join(', ') : 'any IM protocol';
        const what = r.chat && r.files ? 'chat and file transfer' : r.chat ? 'chat only (file transfers are violations)' : 'file transfer only (chat is a violation)';
        const when = r.schedule ? `on ${r.schedule.text}` : 'at any time';
        L.push(`    may use ${protos}: ${what}, ${when}`);
      }
    }
  }
  L.push('');
  const sanctioned = [...p.sanctionedNets.map((n) => n.text), ...p.sanctionedHosts.map((h) => (h.startsWith('.') ? `*${h}` : h))];
  L.push(sanctioned.length ? `Sanctioned servers (sessions to them are always authorized): ${sanctioned.join(', ')}` : 'Sanctioned servers: none.');
  const people = p.people.people();
  L.push(`Identity mapping: ${p.people.size} entries for ${people.length} people${people.length ? ` (${people.slice(0, 8).join(', ')}${people.length > 8 ? ', …' : ''})` : ''}.`);
  if (p.directory.people) {
    const groups = [...p.directory.groups.keys()].filter((k) => !k.includes('=')).length;
    L.push(`Directory (people.ldif): ${p.directory.people} people with ${p.directory.identities} identities, ${groups} groups.`);
  }
  L.push(`Default time zone for hours: ${p.timezone}.`);
  L.push(`Home networks (a flow whose client is outside and server inside is judged on the server): ${p.homeNets.map((n) => n.text).join(', ')}.`);
  L.push('');
  L.push(`DLP (first ${p.dlp.maxScanChars} characters of each message and file name are scanned):`);
  for (const d of BUILTIN_DETECTORS) {
    const s = p.dlp.detectors[d];
    L.push(`  ${d}: ${s.enabled ? `on, alert from ${s.threshold} match${s.threshold > 1 ? 'es' : ''} per session, severity ${s.severity}${s.ignore_test_numbers ? ', test numbers ignored' : ''}` : 'off'}`);
  }
  for (const k of p.dlp.keywords) L.push(`  keywords '${k.name}': ${k.words.length} words, alert from ${k.threshold} per session, severity ${k.severity}`);
  for (const r of p.dlp.patterns) L.push(`  regex '${r.name}': /${r.pattern}/${r.ignoreCase ? ' (case-insensitive)' : ''}, alert from ${r.threshold} per session, severity ${r.severity}${r.redact ? ', matches redacted' : ''}`);
  L.push('');
  const sup = Object.entries(p.suppression).map(([k, v]) => `${k} ${dur(v)}`);
  L.push(`Suppression (repeats of the same alert within the interval are counted, not repeated): ${sup.join(', ')}.`);
  if (p.severity.size) L.push(`Severity overrides: ${[...p.severity].map(([k, v]) => `${k} → ${v}`).join(', ')}.`);
  L.push(`Files: severity ${p.files.severity}; executable/script names → ${p.files.dangerousSeverity}; ≥ ${p.files.largeBytes} bytes → ${p.files.largeSeverity}; carved executables named as something else → high; infected → critical.`);
  // names come from the policy's author or a people CSV: one entry stays one line on the terminal
  return L.map(escapeControl).join('\n');
}
