// Gathers what the export is built from: the signature registry, servers observed (analyze JSONL or
// the store) and the policy's forbidden protocols, exceptions and sanctioned servers.
import fs from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
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

/** longest JSONL line read; a longer one (no session event is near it) is skipped */
const MAX_LINE = 16 << 20;

/**
 * Session events of an --events file, read in chunks: a month of `analyze` output can be larger than
 * the longest string V8 makes (~512 MB), which made one readFileSync fail with a stack trace.
 */
export function observedFromJsonl(file: string): ObservedServer[] {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new EventsFileError(`cannot read events file ${file}: ${whyCannotRead(e)}; give --events the JSONL that \`shadowim analyze\` wrote`);
  }
  const out: ObservedServer[] = [];
  // a file of something else (a capture, a text report) would add nothing, silently: count what looks like events
  let lines = 0;
  let events = 0;
  const take = (line: string) => {
    if (line.length && line !== '\r') lines++;
    if (line.startsWith('{"') && line.includes('"type":')) events++;
    if (!line.startsWith('{') || !line.includes('"session"')) return;
    let ev: any;
    try {
      ev = JSON.parse(line);
    } catch {
      return;
    }
    if (ev?.type === 'session' && typeof ev.protocol === 'string' && ev.server && typeof ev.server.ip === 'string') {
      out.push({ protocol: ev.protocol, ip: ev.server.ip, port: ev.server.port, transport: ev.transport, server_name: ev.server_name });
    }
  };
  const decoder = new StringDecoder('utf8');
  const buf = Buffer.allocUnsafe(4 << 20);
  let rest = '';
  let skipping = false; // inside a line longer than MAX_LINE
  try {
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        throw new EventsFileError(`cannot read events file ${file}: ${whyCannotRead(e)}; give --events the JSONL that \`shadowim analyze\` wrote`);
      }
      const text = n > 0 ? decoder.write(buf.subarray(0, n)) : decoder.end();
      let from = 0;
      for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', from)) {
        if (!skipping) take(rest + text.slice(from, nl));
        rest = '';
        skipping = false;
        from = nl + 1;
      }
      if (!skipping) {
        rest += text.slice(from);
        if (rest.length > MAX_LINE) {
          rest = '';
          skipping = true;
        }
      }
      if (n === 0) break;
    }
    if (!skipping && rest) take(rest);
  } finally {
    fs.closeSync(fd);
  }
  if (events === 0) {
    throw new EventsFileError(`events file ${file} holds no shadowim events (${lines ? `${lines} line${lines === 1 ? '' : 's'}, none a JSON event` : 'it is empty'}); give --events the JSONL that \`shadowim analyze --format jsonl\` wrote`);
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
