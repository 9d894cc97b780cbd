// The file service: what happens to a carved file before anyone opens it. The engine hands every
// carve here (EngineOptions.files); it fingerprints the file (true type, name/type mismatch, zip and
// Office metadata), looks its hashes up in the hash lists, applies the policy's file rules, runs the
// DLP detectors on its text and ClamAV on its bytes, keeps it in the quarantine when configured, and
// only then emits its `file_transfer` event (stage 'data') with the verdict.
//
// Verdict, worst first: infected:<signature> > forbidden:<rule> > sensitive:<detector> >
// unscanned:<why> > clean. 'clean' = every configured scanner (ClamAV, hash lists) read the whole,
// complete file and found nothing; with none configured a file is 'unscanned:no-scanner'.
import type { AlertEvent, FileInfo, FileTransferEvent, Severity, ShadowEvent } from '../../common/events';
import type { CarvedFile, CarveSpool, FileHandling } from '../../signatures/carve';
import type { FileMeta } from '../../signatures/types';
import type { FlowInfo } from '../../sensor/types';
import { alertId } from '../alertid';
import { clip } from '../clip';
import { realIdentity, shownIdentities } from '../identity';
import { anyContains } from '../cidr';
import { DlpScanner, cutMarks, redactText, type Finding } from '../dlp/scanner';
import { severityFor, type Policy } from '../policy';
import { ClamavScanner, type ScanResult } from './clamav';
import { FilesConfigError, type FilesConfig } from './config';
import { HashList } from './hashlist';
import { bufferSource, fileSource, inspect, textOf, type ByteSource } from './inspect';
import { Quarantine, QuarantineError } from './quarantine';
import { activeTypes, isActiveType, nameMismatch } from './types';
import { FileSpool, SpoolDir } from './spool';
import { makeNamedDir } from '../../common/makeDirs';

const DETECTOR_NAMES: Record<string, string> = {
  pan: 'payment card number', us_ssn: 'US social security number', iban: 'IBAN', aba_routing: 'ABA routing number',
  us_bank_account: 'bank account number', keyword: 'keyword', regex: 'pattern',
};
const MAX_ALERT_IDS = 100_000;
/** files waiting for ClamAV at once; beyond, a file is reported unscanned:scan-queue-full (bounded memory and disk) */
const MAX_PENDING_SCANS = 10_000;

export interface FileServiceOptions {
  policy: Policy;
  config: FilesConfig;
  /** where finished events (and the alerts this service raises) go: the analyzer */
  emit: (ev: ShadowEvent) => void;
  /** quarantine directory from `analyze --out DIR` (DIR/quarantine), overriding the config's */
  quarantineDir?: string;
}

interface Pending {
  ev: FileTransferEvent;
  emitted: boolean;
  /** the file name with its sensitive values masked: what the alerts and the quarantine show */
  name: string;
}

export class FileService implements FileHandling {
  private readonly spools: SpoolDir;
  private readonly clamav?: ClamavScanner;
  private readonly hashes?: HashList;
  private readonly quarantine?: Quarantine;
  private readonly keep: 'all' | 'flagged';
  private readonly dlp?: DlpScanner;
  /** names and metadata are scanned like messages, whatever files.scan_content says */
  private readonly names: DlpScanner;
  private readonly blockTypes: Set<string>;
  private pending = new Set<Pending>();
  private idle: Array<() => void> = [];
  private alerted = new Set<string>();
  readonly stats = { files: 0, infected: 0, forbidden: 0, sensitive: 0, unscanned: 0, clean: 0, quarantined: 0 };

  constructor(private readonly o: FileServiceOptions) {
    const c = o.config;
    const qdir = o.quarantineDir ?? c.quarantine?.dir;
    if (qdir) {
      try {
        this.quarantine = new Quarantine(qdir, c.quarantine?.maxBytes ?? 1024 ** 3, c.quarantine?.maxFiles ?? 10_000);
      } catch (e) {
        if (!(e instanceof QuarantineError)) throw e;
        // from the configuration: a configuration mistake (exit 2), as files.spool.dir below
        if (!o.quarantineDir) throw new FilesConfigError(`${e.message}; fix files.quarantine.dir in the config`);
        throw new QuarantineError(`${e.message}; give --out a directory in which quarantine/ can be made`);
      }
    }
    this.keep = c.quarantine?.keep ?? 'all';
    if (c.spoolDir) {
      // made now, not at the first file: a spool directory that cannot be used would otherwise turn
      // every carve into a silent spool-full
      makeNamedDir(c.spoolDir, { label: 'files.spool.dir', hint: 'fix files.spool.dir in the config', mode: 0o700, error: FilesConfigError });
    }
    this.spools = new SpoolDir(c.spoolDir ?? this.quarantine?.workDir(), c.spoolMaxFileBytes, c.spoolMaxTotalBytes);
    if (c.clamav) this.clamav = new ClamavScanner(c.clamav);
    if (c.hashLists.length) this.hashes = HashList.load(c.hashLists);
    const fp = o.policy.files;
    if (fp.scanContent) this.dlp = new DlpScanner({ ...o.policy.dlp, maxScanChars: c.contentMaxChars, patternWindow: o.policy.dlp.maxScanChars });
    this.names = new DlpScanner(o.policy.dlp);
    this.blockTypes = new Set([...fp.blockTypes].flatMap((t) => (t === 'executable' ? activeTypes() : [t])));
  }

  /** a spool only when something needs the whole file */
  spool(_meta: FileMeta, _flow: FlowInfo): CarveSpool | undefined {
    if (!this.clamav && !this.quarantine && !this.dlp) return undefined;
    return this.spools.open();
  }

  finish(f: CarvedFile, ev: FileTransferEvent, _flow: FlowInfo): void {
    this.stats.files++;
    // the event's own filename is masked by the analyzer; the alerts and the quarantine entry made
    // here need it masked first (a DCC file named "card 4539 1852 9630 7417.txt" was shown in clear)
    const p: Pending = { ev, emitted: false, name: this.redacted(typeof ev.filename === 'string' ? ev.filename : '') };
    this.pending.add(p);
    let sync: { verdicts: string[]; findings: Finding[]; src?: ByteSource & { close?(): void } } | undefined;
    try {
      sync = this.examine(f, ev);
    } catch (e) {
      if (process.env.SHADOWIM_DEBUG) console.error(e);
      sync = { verdicts: ['unscanned:inspect-error'], findings: [] };
    }
    sync.src?.close?.();
    f.head = EMPTY; // the scan may take a while: hold no more than the event and the spool's name
    const spool = f.spool as FileSpool | undefined;
    const wantAv = this.clamav && spool && !ev.verdict;
    if (wantAv && this.pending.size > MAX_PENDING_SCANS) sync.verdicts.push('unscanned:scan-queue-full');
    if (!wantAv || this.pending.size > MAX_PENDING_SCANS) {
      this.complete(p, f, sync.verdicts, sync.findings, undefined);
      return;
    }
    this.clamav!.scan(spool!.path).then(
      (r) => this.complete(p, f, sync!.verdicts, sync!.findings, r),
      () => this.complete(p, f, sync!.verdicts, sync!.findings, { status: 'error', why: 'clamav-error' }),
    );
  }

  /** fingerprint, hash lists, rules, DLP: everything that needs no waiting */
  private examine(f: CarvedFile, ev: FileTransferEvent): { verdicts: string[]; findings: Finding[]; src?: ByteSource & { close?(): void } } {
    const verdicts: string[] = [];
    const spool = f.spool as FileSpool | undefined;
    let src: (ByteSource & { close?(): void }) | undefined;
    try {
      src = spool ? fileSource(spool.path) : undefined;
    } catch {
      src = undefined;
    }
    const ins = inspect(src ?? bufferSource(f.head), ev.file_type ?? 'data');
    ev.file_type = ins.type;
    const info: FileInfo = { ...ins.info };
    const mismatch = nameMismatch(ev.filename, ins.type);
    if (mismatch) info.name_mismatch = mismatch;
    if (Object.keys(info).length) ev.file_info = this.redactedInfo(info);

    // threat intelligence: the hashes cover the whole file even when it was too large to keep
    const listed = this.hashes?.match(ev.sha256!, ev.md5!);
    if (listed) verdicts.push(`infected:${listed}`);

    // policy file rules
    const fp = this.o.policy.files;
    const size = ev.observed_size ?? 0;
    if (fp.maxSize !== undefined && Math.max(size, ev.size ?? 0) > fp.maxSize) verdicts.push('forbidden:max_size');
    // "from outside": the sender of the bytes is not in the policy's home networks
    const outside = f.sender ? !anyContains(this.o.policy.homeNets, f.sender.ip) : ev.direction === 'inbound';
    if (this.blockTypes.has(ins.type) && (!fp.fromOutsideOnly || outside)) verdicts.push(`forbidden:block_types:${ins.type}`);
    if (fp.blockTypeMismatch && mismatch && isActiveType(ins.type)) verdicts.push('forbidden:type_mismatch');
    if (fp.blockEncryptedArchives && info.encrypted) verdicts.push('forbidden:encrypted_archive');
    if (fp.blockMacros && info.macros) verdicts.push('forbidden:macros');

    // DLP on the text the file carries
    let findings: Finding[] = [];
    if (this.dlp && src) {
      const text = textOf(src, ins, this.o.config.contentMaxChars);
      if (text) findings = this.dlp.scan(text).filter((x) => x.alert !== false && this.detectorOn(x));
      const counted = this.overThreshold(findings);
      findings = counted;
      for (const d of new Set(findings.map((x) => x.detector))) verdicts.push(`sensitive:${d}`);
    }
    return { verdicts, findings, src };
  }

  /** text with the values the DLP detectors find in it masked, cut at max_scan_bytes like a message */
  private redacted(text: string): string {
    if (!text) return text;
    // cut with '…' (a name at 255 characters, a member name or title at 128): the digits at the cut are
    // masked whole, a card cut after 12 digits being no card to the detectors
    const found = this.names.scan(text, cutMarks(text));
    return found.length || text.length > this.o.policy.dlp.maxScanChars ? redactText(text, found, this.o.policy.dlp.maxScanChars) : text;
  }

  /**
   * file_info with every free-text field (zip member names, Office and PDF title and author) masked:
   * they come from the sender, and the analyzer passes file_info on as it is (was: a member named
   * "payroll 219-09-9998.txt" was shown whole in the event, the store and the quarantine)
   */
  private redactedInfo(info: FileInfo): FileInfo {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(info)) {
      if (typeof v === 'string') out[k] = this.redacted(v);
      else if (Array.isArray(v)) out[k] = v.map((x) => (typeof x === 'string' ? this.redacted(x) : x));
      else out[k] = v;
    }
    return out as FileInfo;
  }

  private detectorOn(f: Finding): boolean {
    const d = this.o.policy.dlp.detectors[f.detector as keyof Policy['dlp']['detectors']];
    return d ? d.enabled : true;
  }

  /** a detector's threshold counts findings within the one file */
  private overThreshold(findings: Finding[]): Finding[] {
    const p = this.o.policy.dlp;
    const counts = new Map<string, number>();
    for (const f of findings) counts.set(f.detector + '|' + (f.label ?? ''), (counts.get(f.detector + '|' + (f.label ?? '')) ?? 0) + 1);
    return findings.filter((f) => {
      let threshold = 1;
      if (f.detector === 'keyword') threshold = p.keywords.find((k) => k.name === f.label)?.threshold ?? 1;
      else if (f.detector === 'regex') threshold = p.patterns.find((k) => k.name === f.label)?.threshold ?? 1;
      else threshold = p.detectors[f.detector as keyof typeof p.detectors]?.threshold ?? 1;
      return (counts.get(f.detector + '|' + (f.label ?? '')) ?? 0) >= threshold;
    });
  }

  private complete(p: Pending, f: CarvedFile, verdicts: string[], findings: Finding[], av: ScanResult | undefined): void {
    if (p.emitted) {
      (f.spool as FileSpool | undefined)?.release();
      return;
    }
    const ev = p.ev;
    const spool = f.spool as FileSpool | undefined;
    if (!ev.verdict) {
      if (av?.status === 'infected') verdicts.unshift(`infected:${av.name}`);
      ev.verdict = pickVerdict(verdicts) ?? this.unscannedOrClean(f, av);
    }
    const v = ev.verdict;
    const flagged = /^(infected|forbidden|sensitive):/.test(v);
    if (this.quarantine && spool && (this.keep === 'all' || flagged)) {
      try {
        spool.handedOver();
        if (this.quarantine.store(spool.path, { ...ev, filename: p.name } as FileTransferEvent & { sha256: string; md5: string }, spool.size)) {
          ev.quarantined = true;
          this.stats.quarantined++;
        }
      } catch (e) {
        if (process.env.SHADOWIM_DEBUG) console.error(e);
      }
    }
    spool?.release();
    const kind = v.split(':')[0] as 'infected' | 'forbidden' | 'sensitive' | 'unscanned' | 'clean';
    if (kind in this.stats) this.stats[kind]++;
    this.emit(p, ev);
    this.sensitiveAlerts(ev, p.name, findings);
  }

  private unscannedOrClean(f: CarvedFile, av: ScanResult | undefined): string {
    if (f.truncatedAt !== undefined) return `unscanned:${f.truncatedWhy ?? 'too-large'}`;
    if (av?.status === 'error') return `unscanned:${av.why}`;
    if (!this.clamav && !this.hashes) return 'unscanned:no-scanner';
    if (this.clamav && !av) return 'unscanned:not-spooled';
    if (!f.complete) return 'unscanned:incomplete';
    return 'clean';
  }

  private emit(p: Pending, ev: ShadowEvent): void {
    p.emitted = true;
    this.pending.delete(p);
    try {
      this.o.emit(ev);
    } finally {
      if (!this.pending.size) for (const r of this.idle.splice(0)) r();
    }
  }

  /** content findings → sensitive_data alerts (one per detector and file; ids stable per file and match) */
  private sensitiveAlerts(ev: FileTransferEvent, name: string, findings: Finding[]): void {
    const p = this.o.policy;
    const seen = new Set<string>();
    for (const f of findings) {
      const key = `${f.detector}|${f.label ?? ''}`;
      if (seen.has(key)) continue;
      seen.add(key);
      let sev: Severity = 'high';
      if (f.detector === 'keyword') sev = p.dlp.keywords.find((k) => k.name === f.label)?.severity ?? 'medium';
      else if (f.detector === 'regex') sev = p.dlp.patterns.find((k) => k.name === f.label)?.severity ?? 'medium';
      else sev = p.dlp.detectors[f.detector as keyof typeof p.dlp.detectors]?.severity ?? 'high';
      const n = findings.filter((x) => x.detector === f.detector && x.label === f.label).length;
      const what = f.detector === 'keyword' || f.detector === 'regex' ? `${DETECTOR_NAMES[f.detector]} '${clip(f.label ?? '', 48)}'` : DETECTOR_NAMES[f.detector] ?? f.detector;
      // the same file in two tunnel zones is two tenants' finding (as analyzer.ts keys its alerts)
      const parts = ['sensitive_data', ev.protocol, f.detector, f.label, f.match, 'file', ev.sha256];
      const id = alertId(ev.zone ? [...parts, ev.zone] : parts);
      if (this.alerted.has(id)) continue;
      if (this.alerted.size < MAX_ALERT_IDS) this.alerted.add(id);
      const a: AlertEvent = {
        type: 'alert', ts: ev.ts, id, kind: 'sensitive_data',
        severity: severityFor(p, 'sensitive_data', sev, f.detector, ev.protocol),
        protocol: ev.protocol,
        summary: `${what} ${f.match} in the content of ${ev.protocol} file ${clip(name, 96)} from ${clip(ev.from, 48)} to ${clip(ev.to, 48)}${n > 1 ? ` (${n} in this file)` : ''}`,
        ...(ev.client ? { client: ev.client } : {}),
        ...(ev.server ? { server: ev.server } : {}),
        users: shownIdentities([ev.from, ev.to].filter(realIdentity)),
        detector: f.detector,
        match: f.match,
        ...(ev.flow_id ? { flow_id: ev.flow_id } : {}),
        ...(ev.zone ? { zone: ev.zone } : {}),
        ...(ev.sensor ? { sensor: ev.sensor } : {}),
      };
      this.o.emit(a);
    }
  }

  /** Waits for the scans still running (at most the configured drain timeout); the rest go out unscanned:timeout. */
  async drain(timeoutMs = this.o.config.drainTimeoutMs): Promise<void> {
    if (this.pending.size) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        this.idle.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    for (const p of [...this.pending]) {
      p.ev.verdict ??= 'unscanned:timeout';
      this.stats.unscanned++;
      this.emit(p, p.ev);
    }
  }

  async close(): Promise<void> {
    await this.drain();
    this.spools.cleanup();
  }
}

const EMPTY = Buffer.alloc(0);
const RANK = ['infected', 'forbidden', 'sensitive'];
function pickVerdict(vs: string[]): string | undefined {
  for (const r of RANK) {
    const v = vs.find((x) => x.startsWith(r + ':'));
    if (v) return v;
  }
  return vs.find((x) => x.startsWith('unscanned:'));
}
