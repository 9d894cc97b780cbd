// The analyzer: reads contract events, forwards them (with sensitive values in message text and
// file names redacted) and adds `alert` events: unauthorized_im, policy_violation, sensitive_data,
// cleartext_credentials, file_transfer, malicious_link. It knows nothing of packets.
//
// Events of one flow may arrive in any order (a session event is printed when its flow ends, after
// its messages), so every event is judged on its own: flow_id, its own client/server and users.
import type { AlertEvent, CredentialEvent, Endpoint, EventSink, FileTransferEvent, MessageEvent, SessionEvent, Severity, ShadowEvent } from '../common/events';
import { groupsOf, isInbound, isSanctioned, severityFor, suppressionFor, type AllowRule, type Group, type Policy } from './policy';
import { inSchedule } from './schedule';
import { alertId } from './alertid';
import { MAX_ALERT_USERS, Suppressor } from './suppress';
import { clip } from './clip';
import { DlpScanner, checkedLength, cutMarks, redactText, type Finding, type Findings } from './dlp/scanner';
import type { LinkFilter } from './links';
import { stderrLine } from '../common/stderr';
import { zoneKey } from '../common/zoneKey';
import { isChannel } from '../signatures/irc/parser';
import { identityPrefix, matchedIdentities, realIdentity, shownIdentities, shownIdentity } from './identity';

const MAX_FLOWS = 200_000;
/** an evidence reason this long may have been cut (signatures/engine.ts: 200 or 300 characters, no mark) */
const EVIDENCE_CUT = 200;
const SEV_RANK: Record<Severity, number> = { low: 0, medium: 1, high: 2, critical: 3 };
const DETECTOR_NAMES: Record<string, string> = {
  pan: 'payment card number',
  us_ssn: 'US social security number',
  iban: 'IBAN',
  aba_routing: 'ABA routing number',
  us_bank_account: 'bank account number',
  keyword: 'keyword',
  regex: 'pattern',
};
// executable file types (signatures/fileTypes.yaml ids) and the names they may honestly carry
const EXEC_EXTENSIONS: Record<string, string[]> = {
  pe: ['exe', 'dll', 'scr', 'com', 'sys', 'cpl', 'ocx', 'efi', 'msi', 'drv', 'mui'],
  elf: ['so', 'bin', 'run', 'elf', 'out', 'o', 'ko'],
  macho: ['dylib', 'bundle', 'app', 'so', 'o'],
  script: ['sh', 'bash', 'zsh', 'csh', 'ksh', 'py', 'pl', 'rb', 'php', 'command', 'tool', 'run', 'cgi', 'awk', 'js'],
  jar: ['jar', 'war', 'ear'],
  'java-class': ['class'],
};
// a field named with one of these, in any case and anywhere in its name (Password, sasl_password,
// api_key, AuthToken), is dropped from a credential event at any depth: belt and braces, decoders
// don't set them (docs/analyzer.md Redaction). No field of the contract's credential event matches.
const SECRET_NAME = /pass|pwd|secret|token|hash|response|auth|cred|key|cookie|ticket/i;
// deeper than this a value is dropped whole: what cannot be checked does not leave
const SECRET_DEPTH = 8;

/** `v` without the fields named like a secret (the same object when it has none) */
function withoutSecrets(v: unknown, depth = 0): unknown {
  if (!v || typeof v !== 'object') return v;
  if (depth >= SECRET_DEPTH) return undefined;
  if (Array.isArray(v)) {
    const a = v.map((x) => withoutSecrets(x, depth + 1));
    return a.every((x, i) => x === v[i]) ? v : a;
  }
  let out: Record<string, unknown> | undefined;
  for (const [k, x] of Object.entries(v)) {
    const y = SECRET_NAME.test(k) ? undefined : withoutSecrets(x, depth + 1);
    if (y === x) continue;
    out ??= { ...(v as Record<string, unknown>) };
    if (y === undefined) delete out[k];
    else out[k] = y;
  }
  return out ?? v;
}

/** an alert before its id, time and summary */
type AlertFields = Omit<AlertEvent, 'type' | 'id' | 'ts' | 'summary'> & {
  /** the local side's identities, for its groups (users also names the remote side of a message) */
  local?: string[];
  /** the local side's policy groups when the caller has them already (else alert() looks them up) */
  policyGroups?: Group[];
};

function withKind(a: AlertFields, kind: string, severity: Severity, detector: string): AlertFields {
  a.kind = kind;
  a.severity = severity;
  a.detector = detector;
  return a;
}

interface FlowState {
  dlpCounts?: Map<string, number>;
  /** an unauthorized_im alert was raised for this flow (later messages need no new decision) */
  unauthorized?: boolean;
}

/** who used IM, for summaries: "10.0.0.5 (Dana Ortiz) as dana, dana@x" */
function who(ip: string, person: string | undefined, ids: string[]): string {
  return `${ip}${person ? ` (${clip(person, 64)})` : ''}${ids.length ? ` as ${ids.map((u) => clip(u, 48)).join(', ')}` : ''}`;
}

function ep(e: Endpoint | undefined): string {
  if (!e) return '?';
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

export class Analyzer implements EventSink {
  private readonly flows = new Map<string, FlowState>();
  private readonly sup: Suppressor;
  private readonly scanner: DlpScanner;
  /** server IPs seen with a sanctioned host name (sessions name their server; messages don't), per tunnel zone (zoneKey()) */
  private readonly sanctionedIps = new Set<string>();
  /** link blocklists (config `links:`); undefined = links are not looked for */
  private readonly links: LinkFilter | undefined;
  private clockMs = 0;

  private timer?: NodeJS.Timeout;

  constructor(private readonly next: EventSink, readonly policy: Policy, opts: { live?: boolean; tickMs?: number; links?: LinkFilter } = {}) {
    this.sup = new Suppressor(next, (kind) => suppressionFor(policy, kind));
    this.scanner = new DlpScanner(policy.dlp);
    this.links = opts.links;
    if (opts.live) {
      // live traffic can go quiet: end suppression intervals by the wall clock too
      this.timer = setInterval(() => this.sup.tick(Math.max(this.clockMs, Date.now())), opts.tickMs ?? 30_000);
      this.timer.unref();
    }
  }

  write(ev: ShadowEvent): void {
    this.forwarded = false;
    try {
      const ms = this.parseTs(ev.ts);
      if (ms > this.clockMs) {
        this.clockMs = ms;
        this.sup.tick(ms);
      }
      switch (ev.type) {
        case 'session':
          this.forward(this.maskedEvidence(ev));
          this.onSession(ev);
          break;
        case 'message':
          this.onMessage(ev);
          break;
        case 'file_transfer':
          this.onFile(ev);
          break;
        case 'credential':
          this.onCredential(ev);
          break;
        default:
          this.forward(ev);
      }
    } catch (e) {
      // a bug or an event shape we did not foresee must not stop the sensor, nor leak unredacted text
      this.errors++;
      if (this.errors === 1) stderrLine(`shadowim: analyzer: ${(e as Error).message} (on a ${clip(String(ev?.type), 20)} event; further errors are counted, not printed)`);
      if (!this.forwarded) {
        if (ev?.type === 'message') this.forward({ ...ev, text: '[withheld: the analyzer could not check this text]' });
        else if (ev?.type === 'file_transfer') this.forward({ ...ev, filename: '[withheld]' });
        else if (ev?.type !== 'credential') this.forward(ev);
      }
    }
  }

  /** events that failed analysis (their text was withheld) */
  errors = 0;
  private forwarded = false;

  private forward(ev: ShadowEvent): void {
    this.forwarded = true;
    this.next.write(ev);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.sup.flush();
  }

  // ---- per event type ----

  private onSession(ev: SessionEvent): void {
    const key = flowKey(ev);
    if (ev.server_name && isSanctioned(this.policy, undefined, ev.server_name) && this.sanctionedIps.size < 65536) this.sanctionedIps.add(zoneKey(ev.server.ip, ev.zone));
    const when = this.parseTs(ev.start) || this.parseTs(ev.ts);
    this.judgeUse(ev, key, ev.users, 'session', when, ev.encrypted, ev.server_name);
  }

  private onMessage(ev: MessageEvent): void {
    const key = flowKey(ev);
    // an inbound message to a channel or room says nothing of who reads it here: '#ops' is no user
    const group = toGroup(ev);
    const local = ev.direction === 'inbound' ? (group ? undefined : ev.to) : ev.from;
    this.judgeUse(ev, key, local === undefined ? [] : [local], 'chat', this.parseTs(ev.ts), false, undefined);
    const text = typeof ev.text === 'string' ? ev.text : '';
    const findings = text ? this.scanner.scan(text) : [];
    const redacted = findings.length || text.length > this.policy.dlp.maxScanChars ? redactText(text, findings, this.policy.dlp.maxScanChars) : text;
    this.forward(redacted === text ? ev : { ...ev, text: redacted });
    if (findings.length) this.dlpAlerts(ev, key, findings.filter((f) => f.alert !== false), 'message', group ? [ev.from] : [ev.from, ev.to]);
    if (this.links !== undefined && text) this.linkAlerts(this.links, ev, text, findings);
  }

  /**
   * A session's evidence may quote a file name from the wire ("IRC DCC SEND of card 4539 1852 9630
   * 7417.txt by alice", MSNFTP, XMPP bytestreams): masked as the file name is (was: in clear on the
   * DCC connection's session event while the file_transfer event had it masked).
   */
  private maskedEvidence(ev: SessionEvent): SessionEvent {
    if (!Array.isArray(ev.evidence)) return ev;
    const max = this.policy.dlp.maxScanChars;
    let changed = false;
    const evidence = ev.evidence.map((e) => {
      if (!e || typeof e.reason !== 'string' || !e.reason) return e;
      // a reason of EVIDENCE_CUT characters or more may have been cut there (signatures/engine.ts cuts
      // at 200 or 300, unmarked): the digits at its end are masked whole ('… card 4539 1852 9630 ')
      const found = this.scanner.scan(e.reason, cutMarks(e.reason, e.reason.length >= EVIDENCE_CUT));
      const reason = found.length || e.reason.length > max ? redactText(e.reason, found, max) : e.reason;
      if (reason === e.reason) return e;
      changed = true;
      return { ...e, reason };
    });
    return changed ? { ...ev, evidence } : ev;
  }

  private onFile(ev: FileTransferEvent): void {
    const key = flowKey(ev);
    const local = ev.direction === 'inbound' ? ev.to : ev.from;
    const name = typeof ev.filename === 'string' ? ev.filename : '';
    // a name cut at 255 characters ('…' before its extension) has the digits at the cut masked whole
    const findings = name ? this.scanner.scan(name, cutMarks(name)) : [];
    const safeName = findings.length || name.length > this.policy.dlp.maxScanChars ? redactText(name, findings, this.policy.dlp.maxScanChars) : name;
    this.forward(safeName === name ? ev : { ...ev, filename: safeName });
    if (ev.client && ev.server) this.judgeUse(ev as FileTransferEvent & { client: Endpoint; server: Endpoint }, key, [local], 'file', this.parseTs(ev.ts), false, undefined);
    if (findings.length) this.dlpAlerts(ev, key, findings.filter((f) => f.alert !== false), 'file name', [ev.from, ev.to]);
    this.fileAlert(ev, key, safeName);
  }

  private onCredential(ev: CredentialEvent): void {
    this.forward(withoutSecrets(ev) as CredentialEvent);
    const p = this.policy;
    const user = identityPrefix(ev.user);
    const person = p.people.resolve([user], this.localIp(ev));
    const severity = severityFor(p, 'cleartext_credentials', 'high', ev.protocol, ev.mechanism);
    this.alert(
      {
        kind: 'cleartext_credentials',
        severity,
        protocol: ev.protocol,
        client: ev.client,
        server: ev.server,
        users: realIdentity(ev.user) ? [shownIdentity(ev.user)] : [],
        local: [user],
        person,
        detector: ev.mechanism,
        flow_id: ev.flow_id,
        zone: ev.zone,
      },
      () => `${ev.protocol} password sent in the clear for ${clip(ev.user, 64)} (${clip(ev.mechanism, 32)}) from ${ep(ev.client)} to ${ep(ev.server)}`,
      ev.ts,
      ['cleartext_credentials', ev.protocol, ev.mechanism, user, ev.server?.ip],
    );
  }

  // ---- policy: is this use of IM allowed? ----

  private judgeUse(
    ev: { protocol: string; ts: string; client: Endpoint; server: Endpoint; flow_id?: string; zone?: string },
    key: string,
    identities: string[],
    use: 'session' | 'chat' | 'file',
    whenMs: number,
    encrypted: boolean,
    serverName: string | undefined,
  ): void {
    const p = this.policy;
    if (!ev.client || !ev.server) return;
    const st = this.flow(key);
    if (st.unauthorized && use !== 'session') return; // decided; the session event may still add users
    if (isSanctioned(p, ev.server.ip, serverName) || this.sanctionedIps.has(zoneKey(ev.server.ip, ev.zone))) return;
    const ids = identities.filter(realIdentity);
    const names = matchedIdentities(ids); // the policy reads each name's first 256 characters (identityPrefix says why)
    // an inbound flow (peer-to-peer media, DCC) is judged on our host, its server side
    const inbound = isInbound(p, ev.client, ev.server);
    const local = inbound ? ev.server : ev.client;
    const remote = inbound ? ev.client : ev.server;
    if (inbound && isSanctioned(p, ev.client.ip, undefined)) return;
    const person = p.people.resolve(names, local.ip);
    const groups = groupsOf(p, local.ip, names, person, ev.zone);
    const proto = (ev.protocol ?? '').toLowerCase();
    const rules: Array<[Group, AllowRule]> = [];
    for (const g of groups) for (const r of g.allow) if (!r.protocols || r.protocols.has(proto)) rules.push([g, r]);
    // one literal with every field, kind/severity/detector filled in below: `{ ...base, kind }` would
    // add properties to a spread copy, which V8 (Node 20) does ~1 µs per property
    const a: AlertFields = { kind: 'unauthorized_im', severity: 'high', protocol: ev.protocol, client: ev.client, server: ev.server, users: shownIdentities(ids), person, detector: undefined, flow_id: ev.flow_id, zone: ev.zone, policyGroups: groups };

    if (!rules.length) {
      const computed: Severity = encrypted ? 'medium' : 'high';
      a.severity = severityFor(p, 'unauthorized_im', computed, proto, encrypted ? 'encrypted' : 'cleartext');
      this.alert(
        a,
        () => {
          const to = inbound ? `, inbound from ${ep(remote)}` : ` to ${serverName ? `${clip(serverName, 64)} (${ep(ev.server)})` : ep(ev.server)}`;
          return `unauthorized ${ev.protocol} use by ${who(local.ip, person, ids)}${to}${groups.length ? ` (groups ${groups.map((g) => g.name).join(', ')} may not use ${ev.protocol})` : ''}`;
        },
        ev.ts,
        ['unauthorized_im', proto, local.ip],
        key,
      );
      st.unauthorized = true;
      return;
    }
    const inHours = rules.filter(([, r]) => !r.schedule || !Number.isFinite(whenMs) || inSchedule(r.schedule, whenMs));
    if (!inHours.length) {
      this.alert(
        withKind(a, 'policy_violation', severityFor(p, 'policy_violation', 'medium', 'outside_hours', proto), 'outside_hours'),
        () => `${ev.protocol} used outside permitted hours by ${who(local.ip, person, ids)} (allowed: ${[...new Set(rules.map(([, r]) => r.schedule!.text))].join('; ')})`,
        ev.ts,
        ['policy_violation', 'outside_hours', proto, local.ip],
        key,
      );
      return;
    }
    if (use === 'chat' && !inHours.some(([, r]) => r.chat)) {
      this.alert(
        withKind(a, 'policy_violation', severityFor(p, 'policy_violation', 'medium', 'chat_not_allowed', proto), 'chat_not_allowed'),
        () => `${ev.protocol} chat by ${who(local.ip, person, ids)}: group ${inHours.map(([g]) => g.name).join(', ')} may only transfer files`,
        ev.ts,
        ['policy_violation', 'chat_not_allowed', proto, local.ip],
        key,
      );
    } else if (use === 'file' && !inHours.some(([, r]) => r.files)) {
      this.alert(
        withKind(a, 'policy_violation', severityFor(p, 'policy_violation', 'medium', 'file_transfer_not_allowed', proto), 'file_transfer_not_allowed'),
        () => `${ev.protocol} file transfer by ${who(local.ip, person, ids)}: group ${inHours.map(([g]) => g.name).join(', ')} may chat but not transfer files`,
        ev.ts,
        ['policy_violation', 'file_transfer_not_allowed', proto, local.ip],
        key,
      );
    }
  }

  // ---- DLP ----

  private dlpAlerts(ev: MessageEvent | FileTransferEvent, key: string, findings: Finding[], where: string, users: string[]): void {
    const p = this.policy;
    const st = this.flow(key);
    const counts = (st.dlpCounts ??= new Map());
    const us = shownIdentities(users.filter(realIdentity));
    const local = identityPrefix(ev.direction === 'inbound' ? ev.to : ev.from);
    const person = p.people.resolve([local], this.localIp(ev));
    for (const f of findings) {
      const ck = f.label && f.detector !== 'pan' ? `${f.detector}:${f.label}` : f.detector;
      const n = (counts.get(ck) ?? 0) + 1;
      counts.set(ck, n);
      let threshold = 1;
      let sev: Severity = 'medium';
      if (f.detector === 'keyword') {
        const k = p.dlp.keywords.find((x) => x.name === f.label);
        threshold = k?.threshold ?? 1;
        sev = k?.severity ?? 'medium';
      } else if (f.detector === 'regex') {
        const r = p.dlp.patterns.find((x) => x.name === f.label);
        threshold = r?.threshold ?? 1;
        sev = r?.severity ?? 'medium';
      } else {
        const d = p.dlp.detectors[f.detector as keyof typeof p.dlp.detectors];
        threshold = d?.threshold ?? 1;
        sev = d?.severity ?? 'high';
      }
      if (n < threshold) continue;
      const severity = severityFor(p, 'sensitive_data', sev, f.detector, ev.protocol);
      this.alert(
        {
          kind: 'sensitive_data',
          severity,
          protocol: ev.protocol,
          client: ev.client,
          server: ev.server,
          users: us,
          local: [local],
          person,
          detector: f.detector,
          match: f.match,
          flow_id: ev.flow_id,
          zone: ev.zone,
        },
        () => {
          const what = f.detector === 'keyword' || f.detector === 'regex' ? `${DETECTOR_NAMES[f.detector]} '${clip(f.label, 48)}'` : DETECTOR_NAMES[f.detector] ?? f.detector;
          const net = f.detector === 'pan' && f.label ? ` (${f.label})` : '';
          const nth = threshold > 1 ? `, ${n} in this session` : '';
          return `${what}${net} ${f.match} in ${ev.protocol} ${where} from ${clip(ev.from, 48)} to ${clip(ev.to, 48)}${nth}`;
        },
        ev.ts,
        ['sensitive_data', ev.protocol, f.detector, f.label, f.match, identityPrefix(ev.from), identityPrefix(ev.to)],
      );
    }
  }

  // ---- links ----

  /** one alert per listed link in the (original, unredacted) text; what it shows is masked like the message */
  private linkAlerts(links: LinkFilter, ev: MessageEvent, text: string, findings: Findings): void {
    const listed = links.check(text);
    if (!listed.length) return;
    const p = this.policy;
    const local = identityPrefix(ev.direction === 'inbound' ? ev.to : ev.from);
    const person = p.people.resolve([local], this.localIp(ev));
    const users = shownIdentities([ev.from, ev.to].filter(realIdentity));
    const dir = ev.direction === 'inbound' || ev.direction === 'outbound' ? ` (${ev.direction})` : '';
    for (const { link, entry } of listed) {
      const shown = links.show(text, link, findings, checkedLength(findings, p.dlp.maxScanChars), (s) => this.scanner.scan(s));
      const list = entry.list.name;
      this.alert(
        {
          kind: 'malicious_link',
          severity: severityFor(p, 'malicious_link', entry.list.severity, list, ev.protocol),
          protocol: ev.protocol,
          client: ev.client,
          server: ev.server,
          users,
          local: [local],
          person,
          detector: list,
          match: clip(shown.url, 200),
          flow_id: ev.flow_id,
          zone: ev.zone,
        },
        () => `link to ${clip(shown.host, 96)} listed in ${list}${entry.label ? ` (${entry.label})` : ''} sent over ${ev.protocol} from ${clip(ev.from, 48)} to ${clip(ev.to, 48)}${dir}`,
        ev.ts,
        ['malicious_link', ev.protocol, shown.host, identityPrefix(ev.from), identityPrefix(ev.to)],
      );
    }
  }

  // ---- files ----

  private fileAlert(ev: FileTransferEvent, key: string, safeName: string): void {
    const p = this.policy;
    const f = p.files;
    let sev: Severity = f.severity;
    let detector: string | undefined;
    const notes: string[] = [];
    const raise = (s: Severity) => {
      if (SEV_RANK[s] > SEV_RANK[sev]) sev = s;
    };
    const dot = safeName.lastIndexOf('.');
    const ext = dot > 0 && dot < safeName.length - 1 ? safeName.slice(dot + 1).toLowerCase() : '';
    if (ext && f.dangerousExtensions.has(ext)) {
      raise(f.dangerousSeverity);
      notes.push(`executable or script name (.${clip(ext, 12)})`);
    }
    const size = typeof ev.observed_size === 'number' ? ev.observed_size : ev.size;
    if (typeof size === 'number' && size >= f.largeBytes) {
      raise(f.largeSeverity);
      notes.push('large file');
    }
    const ftype = typeof ev.file_type === 'string' ? ev.file_type : undefined;
    if (ftype && EXEC_EXTENSIONS[ftype] && ext && !EXEC_EXTENSIONS[ftype].includes(ext) && !f.dangerousExtensions.has(ext)) {
      raise('high');
      detector = 'type_mismatch';
      notes.push(`content is ${ftype} but the name says .${clip(ext, 12)}`);
    }
    const verdict = typeof ev.verdict === 'string' ? ev.verdict : '';
    if (verdict.startsWith('infected')) {
      raise('critical');
      detector = 'malware';
      notes.push(clip(verdict, 80));
    } else if (verdict.startsWith('forbidden')) {
      raise('high');
      detector ??= 'forbidden';
      notes.push(clip(verdict, 80));
    }
    const severity = severityFor(p, 'file_transfer', sev, detector, ev.protocol);
    const sz = typeof size === 'number' ? ` (${size} B)` : '';
    const dir = ev.direction ? ` ${ev.direction}` : '';
    const local = identityPrefix(ev.direction === 'inbound' ? ev.to : ev.from);
    this.alert(
      {
        kind: 'file_transfer',
        severity,
        protocol: ev.protocol,
        client: ev.client,
        server: ev.server,
        users: shownIdentities([ev.from, ev.to].filter(realIdentity)),
        local: [local],
        person: p.people.resolve([local], this.localIp(ev)),
        detector,
        flow_id: ev.flow_id,
        zone: ev.zone,
      },
      () => `${ev.protocol}${dir} file transfer ${clip(ev.from, 48)} -> ${clip(ev.to, 48)}: ${clip(safeName, 96)}${sz}${notes.length ? ` — ${notes.join('; ')}` : ''}`,
      ev.ts,
      ['file_transfer', ev.protocol, identityPrefix(ev.from), identityPrefix(ev.to), safeName, detector],
      ev.transfer_id ? `t:${ev.transfer_id}` : `${key}|${safeName}`,
    );
  }

  // ---- plumbing ----

  /**
   * `describe` gives the summary. Most findings repeat within their suppression interval (every
   * flow of a client, every message of a session) and a repeat is only counted: the summary is
   * built only for an alert that is printed.
   */
  private alert(a: AlertFields, describe: () => string, ts: string, idParts: Array<string | undefined>, occurrence?: string): void {
    // a finding in one tunnel zone is not the same finding in another (two tenants, one private
    // address); outside tunnels the id is what it always was
    const id = alertId(a.zone ? [...idParts, a.zone] : idParts);
    const ms = this.parseTs(ts);
    const now = Number.isFinite(ms) ? ms : this.clockMs;
    if (this.sup.repeat(id, now, ts, a.users, a.person, occurrence)) return;
    // a fixed field order makes the JSON lines easy to read
    const ev = { type: 'alert', ts, id, kind: a.kind, severity: a.severity, protocol: a.protocol, summary: describe() } as AlertEvent;
    if (a.client) ev.client = a.client;
    if (a.server) ev.server = a.server;
    // a session names up to 64 users; repeats merged later are capped alike (Suppressor.merge)
    ev.users = a.users.length > MAX_ALERT_USERS ? a.users.slice(0, MAX_ALERT_USERS) : a.users;
    if (a.person) ev.person = a.person;
    // for routing alerts by group (sinks' groups filter) and for the analyst
    if (this.policy.groups.length) {
      const groups = a.policyGroups ?? groupsOf(this.policy, this.localIp(a), (a.local ?? a.users).filter(realIdentity), a.person, a.zone);
      if (groups.length) ev.groups = groups.map((g) => g.name);
    }
    if (a.detector) ev.detector = a.detector;
    if (a.match) ev.match = a.match;
    if (a.flow_id) ev.flow_id = a.flow_id;
    if (a.zone) ev.zone = a.zone;
    this.sup.offer(ev, now, occurrence);
  }

  // Each event's time is parsed three or four times, and consecutive events mostly share it: the
  // last text and its value are kept (Date.parse was a visible share of the profile).
  private lastTs = '';
  private lastTsMs = NaN;
  private parseTs(ts: string): number {
    if (ts === this.lastTs) return this.lastTsMs;
    const ms = Date.parse(ts);
    if (typeof ts === 'string') {
      this.lastTs = ts;
      this.lastTsMs = ms;
    }
    return ms;
  }

  private localIp(ev: { client?: Endpoint; server?: Endpoint }): string | undefined {
    if (ev.client && ev.server) return isInbound(this.policy, ev.client, ev.server) ? ev.server.ip : ev.client.ip;
    return ev.client?.ip;
  }

  private flow(key: string): FlowState {
    let st = this.flows.get(key);
    if (!st) {
      if (this.flows.size >= MAX_FLOWS) this.flows.delete(this.flows.keys().next().value as string);
      st = {};
      this.flows.set(key, st);
    }
    return st;
  }
}

/** message kinds whose `to` is a channel, room or conference (IRC, XMPP MUC, Yahoo), not a person */
const GROUP_KINDS = new Set(['channel', 'groupchat', 'conference']);

/** a message to a group: by its kind, or an IRC notice to a channel (the decoder's own channel test) */
export function toGroup(ev: { kind?: string; protocol?: string; to?: string }): boolean {
  return (ev.kind !== undefined && GROUP_KINDS.has(ev.kind)) || (ev.protocol === 'irc' && typeof ev.to === 'string' && isChannel(ev.to));
}

export function flowKey(ev: { flow_id?: string; protocol?: string; client?: Endpoint; server?: Endpoint; from?: string; to?: string; zone?: string }): string {
  if (ev.flow_id) return ev.flow_id; // (a flow id includes the zone)
  if (ev.client && ev.server) return zoneKey(`${ev.protocol}|${ev.client.ip}:${ev.client.port}|${ev.server.ip}:${ev.server.port}`, ev.zone);
  return zoneKey(`${ev.protocol}|${identityPrefix(ev.from)}|${identityPrefix(ev.to)}`, ev.zone);
}

