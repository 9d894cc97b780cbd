// One interface for every alert sink: a name, a filter, and send(alert) → what the receiver said.
import crypto from 'node:crypto';
import os from 'node:os';
import type { AlertEvent } from '../../common/events';
import { accepts, type SinkConfig } from './config';
import { alertJson, cef, ecs, leef, LINE_MAX, rfc5424 } from './formats';
import { httpPost, SyslogClient, type SendResult } from './transports';

export interface AlertSink {
  readonly name: string;
  readonly config: SinkConfig;
  accepts(a: AlertEvent): boolean;
  send(a: AlertEvent): Promise<SendResult>;
  close(): void;
}

/**
 * Standard Webhooks signature: base64 HMAC-SHA256 over "id.timestamp.body" with the secret
 * (the bytes after "whsec_" are base64; any other secret is used as UTF-8 text).
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8');
  return `v1,${crypto.createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** For receivers: true when one of the header's signatures matches and the timestamp is fresh. */
export function verifyWebhook(secret: string, headers: Record<string, string | string[] | undefined>, body: string, toleranceSec = 300, now = Date.now()): boolean {
  const id = String(headers['webhook-id'] ?? '');
  const ts = Number(headers['webhook-timestamp']);
  const sigs = String(headers['webhook-signature'] ?? '').split(' ');
  if (!id || !Number.isFinite(ts) || Math.abs(now / 1000 - ts) > toleranceSec) return false;
  const want = Buffer.from(signWebhook(secret, id, ts, body));
  // lengths in bytes, as timingSafeEqual compares them ('é' is one UTF-16 unit but two bytes: it threw)
  return sigs.some((s) => {
    const got = Buffer.from(s);
    return got.length === want.length && crypto.timingSafeEqual(got, want);
  });
}

function body(s: SinkConfig, a: AlertEvent): string {
  if (s.format === 'ecs') return JSON.stringify(ecs(a));
  // the line as a syslog receiver would take it (LINE_MAX octets): the JSON around it at most doubles it (\\ and \")
  if (s.format === 'cef') return JSON.stringify({ cef: cef(a, LINE_MAX), id: a.id });
  if (s.format === 'leef') return JSON.stringify({ leef: leef(a, LINE_MAX), id: a.id });
  return alertJson(a);
}

/** the bytes a sink sends for an alert (as text): the webhook body, the HEC envelope or the syslog line */
export function sinkPayload(s: SinkConfig, a: AlertEvent): string {
  if (s.type === 'webhook') return body(s, a);
  if (s.type === 'splunk') {
    return JSON.stringify({
      time: Date.parse(a.ts) / 1000,
      host: a.sensor ?? os.hostname(),
      source: 'shadowim',
      sourcetype: s.sourcetype,
      ...(s.index ? { index: s.index } : {}),
      event: s.format === 'ecs' ? ecs(a) : a,
      fields: { kind: a.kind, severity: a.severity, protocol: a.protocol ?? '', alert_id: a.id },
    });
  }
  return rfc5424(a, { facility: s.facility ?? 16, payload: s.format as 'text' | 'cef' | 'leef' | 'json', pen: s.pen });
}

/**
 * The HEC endpoint of a Splunk url: a base (https://splunk:8088) gets /services/collector/event; one
 * naming /services/collector or …/event, with a trailing slash or a query string (?channel=…), is kept.
 */
export function hecUrl(raw: string): string {
  const u = new URL(raw);
  const p = u.pathname.replace(/\/+$/, '');
  u.pathname = /\/services\/collector(\/event)?$/.test(p) ? p : `${p}/services/collector/event`;
  return u.toString();
}

export function createSink(s: SinkConfig): AlertSink {
  const base = { name: s.name, config: s, accepts: (a: AlertEvent) => accepts(s, a) };
  const http = { timeoutMs: s.timeout_ms, ca: s.ca, verify: s.verify_tls };
  if (s.type === 'webhook') {
    return {
      ...base,
      send(a) {
        const b = sinkPayload(s, a);
        const ts = Math.floor(Date.now() / 1000);
        // the alert id is the idempotency key: a retry or an updated count carries the same webhook-id
        const headers: Record<string, string> = { ...s.headers, 'webhook-id': a.id, 'webhook-timestamp': String(ts) };
        if (s.secret) headers['webhook-signature'] = signWebhook(s.secret, a.id, ts, b);
        return httpPost(s.url!, b, headers, http);
      },
      close() {},
    };
  }
  if (s.type === 'splunk') {
    const url = hecUrl(s.url!);
    return {
      ...base,
      send(a) {
        return httpPost(url, sinkPayload(s, a), { ...s.headers, authorization: `Splunk ${s.token}`, 'x-splunk-request-channel': crypto.createHash('md5').update(s.name).digest('hex').replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5') }, http);
      },
      close() {},
    };
  }
  const client = new SyslogClient({ transport: s.transport!, host: s.host!, port: s.port!, timeoutMs: s.timeout_ms, ca: s.ca, verify: s.verify_tls });
  return {
    ...base,
    send: (a) => client.send(sinkPayload(s, a)),
    close: () => client.close(),
  };
}
