// A store the dashboard tests fill the way users do: `shadowim analyze CAPTURE --store`, users added with
// `shadowim user add --password-stdin`, plus one live-style session (written through the store sink, with
// no capture file behind it).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { shadowim } from '../helpers/run';
import { storeSink } from '../helpers/store';
import { dashboardCapture } from './fixture';

export const PASSWORDS = { admin: 'admin-pass-0123', analyst: 'analyst-pass-0123', viewer: 'viewer-pass-0123', limited: 'limited-pass-0123' };

export interface Fixture {
  dir: string;
  store: string;
  pcap: string;
  quarantine: string;
  carved: { sha256: string; bytes: Buffer };
  flowAPackets: number;
  cleanup(): void;
}

export async function makeFixture(): Promise<Fixture> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-dash-'));
  const store = path.join(dir, 'store.db');
  const pcap = path.join(dir, 'irc.pcap');
  const cap = dashboardCapture();
  fs.writeFileSync(pcap, cap.pcap);
  const r = shadowim(['analyze', pcap, '--store', store, '--sensor', 'test-sensor', '--format', 'jsonl']);
  if (r.status !== 0) throw new Error(`analyze failed: ${r.stderr}`);
  addUsers(store, Object.keys(PASSWORDS) as (keyof typeof PASSWORDS)[]);
  // a live session: no capture file to extract packets from
  const sink = storeSink(store, 'live-sensor');
  const t = new Date(Date.now() - 3 * 3600_000).toISOString();
  sink.write({ type: 'session', ts: t, protocol: 'xmpp', transport: 'tcp', client: { ip: '10.1.1.1', port: 50000 }, server: { ip: '203.0.113.20', port: 5222 }, users: ['carol@jabber.example'], start: t, end: t, packets: 10, bytes: 900, encrypted: false, evidence: [{ signature: 'xmpp.stream', reason: 'test' }], flow_id: 'live0000000000001' });
  sink.write({ type: 'alert', ts: t, id: 'live-alert-0001', kind: 'unauthorized_im', severity: 'medium', protocol: 'xmpp', summary: 'unauthorized xmpp use (live test)', client: { ip: '10.1.1.1', port: 50000 }, server: { ip: '203.0.113.20', port: 5222 }, users: ['carol@jabber.example'], flow_id: 'live0000000000001' });
  await sink.close();
  // a carved file in the quarantine, stored by the files module's own Quarantine
  const quarantine = path.join(dir, 'quarantine');
  const { Quarantine } = require('../../analyzer/files/quarantine') as typeof import('../../analyzer/files/quarantine');
  const bytes = Buffer.from('%PDF-1.4 quarterly numbers\n');
  const src = path.join(dir, 'carved.tmp');
  fs.writeFileSync(src, bytes);
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const sha256 = crypto.createHash('sha256').update(bytes).digest('hex');
  new Quarantine(quarantine, 1 << 30, 1000).store(src, { type: 'file_transfer', ts: t, protocol: 'irc', from: 'alice', to: 'bob', filename: '<b>report</b>.pdf', size: bytes.length, stage: 'data', sha256, md5: crypto.createHash('md5').update(bytes).digest('hex'), complete: true, verdict: 'clean', file_type: 'pdf' }, bytes.length);
  return { dir, store, pcap, quarantine, carved: { sha256, bytes }, flowAPackets: cap.flowAPackets, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Adds users of PASSWORDS to `store` as an operator does (`shadowim user add --password-stdin`); each has the role of its name, limited a viewer's. */
export function addUsers(store: string, names: readonly (keyof typeof PASSWORDS)[]): void {
  for (const name of names) {
    const role = name === 'limited' ? 'viewer' : name;
    const u = shadowim(['user', 'add', name, '--role', role, '--password-stdin', '--store', store], { input: PASSWORDS[name] + '\n' });
    assert.equal(u.status, 0, u.stderr);
  }
}

/** A tiny cookie-keeping HTTP client for the API. */
export class Client {
  cookies = new Map<string, string>();
  csrf: string | undefined;
  constructor(readonly base: string, readonly headers: Record<string, string> = {}) {}

  async req(method: string, p: string, o: { body?: unknown; headers?: Record<string, string>; csrf?: string | null } = {}): Promise<{ status: number; headers: Headers; json: any; text: string; buf: Buffer; setCookies: string[] }> {
    const h: Record<string, string> = { ...this.headers, ...(o.headers ?? {}) };
    if (this.cookies.size) h.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    if (o.body !== undefined) h['content-type'] = 'application/json';
    const csrf = o.csrf === null ? undefined : o.csrf ?? (method !== 'GET' ? this.csrf : undefined);
    if (csrf) h['x-csrf-token'] = csrf;
    const r = await fetch(this.base + p, { method, headers: h, body: o.body !== undefined ? JSON.stringify(o.body) : undefined, redirect: 'manual' });
    const setCookies = r.headers.getSetCookie();
    for (const c of setCookies) {
      const [kv] = c.split(';');
      const i = kv.indexOf('=');
      const v = kv.slice(i + 1);
      if (v === '' || /Max-Age=0/i.test(c)) this.cookies.delete(kv.slice(0, i));
      else this.cookies.set(kv.slice(0, i), v);
    }
    const buf = Buffer.from(await r.arrayBuffer());
    const text = buf.toString('utf8');
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: r.status, headers: r.headers, json, text, buf, setCookies };
  }

  async login(user: string, password: string): Promise<number> {
    const pre = await this.req('GET', '/api/session');
    const r = await this.req('POST', '/api/login', { body: { user, password }, csrf: pre.json?.csrf ?? null });
    if (r.status === 200) this.csrf = r.json.csrf;
    return r.status;
  }
}
