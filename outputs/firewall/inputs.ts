// Gathers what the export is built from: the signature registry, servers observed (analyze JSONL or
// the store) and the policy's forbidden protocols, exceptions and sanctioned servers.
import fs from 'node:fs';
import { whyCannotRead } from '../../common/fsError';
import { loadRegistry } from '../../signatures/registry';
import type { ModelInput, ObservedServer } from './model';

export function buildRuleInput(o: { policyFile?: string; eventFiles: string[]; store?: string }): Omit<ModelInput, 'action'> {
  const registry = loadRegistry();
  const observed: ObservedServer[] = [];
  for (const f of o.eventFiles) observed.push(...observedFromJsonl(f));
  if (o.store) observed.push(...observedFromStore(o.store));
  return { registry, observed, ...policyInput(o.policyFile) };
}

export function observedFromJsonl(file: string): ObservedServer[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read events file ${file}: ${whyCannotRead(e)}; give --events the JSONL that \`shadowim analyze\` wrote`);
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
  if (!fs.existsSync(file)) throw new Error(`store ${file} does not exist; run 'shadowim analyze --store ${file}' first or drop --store`);
  const Database = require('better-sqlite3');
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const cols = new Set((db.prepare(`PRAGMA table_info(sessions)`).all() as { name: string }[]).map((c) => c.name));
    const ip = ['server_ip', 'server_addr'].find((c) => cols.has(c));
    if (!ip || !cols.has('protocol')) return [];
    const port = cols.has('server_port') ? 'server_port' : 'NULL';
    const name = cols.has('server_name') ? 'server_name' : 'NULL';
    return db.prepare(`SELECT DISTINCT protocol, ${ip} AS ip, ${port} AS port, ${name} AS server_name FROM sessions`).all() as ObservedServer[];
  } finally {
    db.close();
  }
}

/** Policy → forbidden protocols, exceptions, sanctioned servers (default policy: every IM forbidden). */
export function policyInput(policyFile?: string): Pick<ModelInput, 'forbidden' | 'exceptions' | 'sanctioned'> {
  if (!policyFile) return {};
  return (require('./policyView') as typeof import('./policyView')).firewallView(policyFile);
}
