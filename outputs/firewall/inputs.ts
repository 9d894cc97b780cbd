// Gathers what the export is built from: the signature registry, servers observed (analyze JSONL or
// the store) and the policy's forbidden protocols, exceptions and sanctioned servers.
import fs from 'node:fs';
import { whyCannotRead } from '../../common/fsError';
import { loadRegistry } from '../../signatures/registry';
import type { ModelInput, ObservedServer } from './model';

export function buildRuleInput(o: { policyFile?: string; eventFiles: string[]; store?: string }): Omit<ModelInput, 'action'> {
  const registry = loadRegistry();
  const observed: ObservedServer[] = [];
  // one by one: push(...xs) passes each as an argument, and 200,000 sessions overflowed the stack
  for (const f of o.eventFiles) for (const x of observedFromJsonl(f)) observed.push(x);
  if (o.store) for (const x of observedFromStore(o.store)) observed.push(x);
  return { registry, observed, ...policyInput(o.policyFile) };
}

/** an --events file that cannot be read (the command answers it as a usage error, exit 2) */
export class EventsFileError extends Error {}

export function observedFromJsonl(file: string): ObservedServer[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new EventsFileError(`cannot read events file ${file}: ${whyCannotRead(e)}; give --events the JSONL that \`shadowim analyze\` wrote`);
  }
  const out: ObservedServer[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let ev: any;
    try {
      ev = JSON.parse(line);
    } catch {
      continue;
    }
    if (ev?.type === 'session' && typeof ev.protocol === 'string' && ev.server && typeof ev.server.ip === 'string') {
      out.push({ protocol: ev.protocol, ip: ev.server.ip, port: ev.server.port, transport: ev.transport, server_name: ev.server_name });
    }
  }
  return out;
}

export function observedFromStore(file: string): ObservedServer[] {
  // the store's own opening: its errors name the file and the fix (a missing store, a read-only one is read from a copy)
  const { openStore } = require('../../storage/store') as typeof import('../../storage/store');
  const db = openStore(file, { readonly: true });
  try {
    return db.prepare('SELECT DISTINCT protocol, server_ip AS ip, server_port AS port, server_name FROM sessions WHERE server_ip IS NOT NULL').all() as ObservedServer[];
  } finally {
    db.close();
  }
}

/** Policy → forbidden protocols, exceptions, sanctioned servers (default policy: every IM forbidden). */
export function policyInput(policyFile?: string): Pick<ModelInput, 'forbidden' | 'exceptions' | 'sanctioned'> {
  if (!policyFile) return {};
  return (require('./policyView') as typeof import('./policyView')).firewallView(policyFile);
}
