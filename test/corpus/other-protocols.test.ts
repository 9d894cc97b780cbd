// Real captures of other protocols: tcpdump 4.99.3's test suite (about 670 captures of a few hundred
// protocols, from BGP to Zephyr, many cut short or malformed on purpose: the crash reproducers of
// tcpdump's own fuzzing) and Wireshark 4.0.17's (about 120: TLS 1.2/1.3, QUIC, DTLS, IKE, WPA, SMB3,
// HTTP/2, gRPC, WireGuard…, 44 of them gzip-compressed, as Wireshark keeps them). None of it is IM, so
// none of it may yield an IM event, and every file must be read to its end without a decoder of ours
// throwing; a gzip file gives what its inflated capture gives. .ci/fetch-test-captures.sh fetches them
// from Debian's tcpdump and wireshark source packages (sha256 checked) into $SHADOWIM_THIRD_PARTY
// (../third-party-captures).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { THIRD_PARTY_DIR, THIRD_PARTY_HINT } from '../helpers/paths';
import { analyzeEach, type RunResult } from '../helpers/run';

const IM_TYPES = new Set(['session', 'message', 'file_transfer', 'credential', 'alert']);

const SUITES = [
  { name: "tcpdump 4.99.3's test captures", dir: path.join(THIRD_PARTY_DIR, 'tcpdump-4.99.3', 'tests'), min: 600, match: /\.(pcap|pcapng)$/ },
  // many_interfaces.pcapng.1..3 are pcapng too; the .cbordiag, .log and .txt beside them are not captures
  { name: "Wireshark 4.0.17's test captures", dir: path.join(THIRD_PARTY_DIR, 'wireshark-4.0.17', 'test', 'captures'), min: 110, match: /\.(pcap|pcapng)(\.gz|\.\d)?$/ },
];

for (const suite of SUITES) {
  const have = fs.existsSync(suite.dir);
  (have ? describe : describe.skip)(`corpus: ${suite.name} in ${suite.dir} (${THIRD_PARTY_HINT})`, function () {
    this.timeout(900000);
    const captures = have ? fs.readdirSync(suite.dir).filter((f) => suite.match.test(f)).sort() : [];
    let runs = new Map<string, RunResult>();

    before(async () => {
      runs = await analyzeEach(suite.dir, captures);
    });

    it(`holds them (over ${suite.min})`, () => {
      assert.ok(captures.length >= suite.min, `only ${captures.length} captures in ${suite.dir}`);
    });

    it('reads every one to the end (exit 0, a summary line, no decoder error)', () => {
      const bad = captures.filter((f) => {
        const r = runs.get(f)!;
        const last = r.stderr.trim().split('\n').pop() ?? '';
        return r.status !== 0 || !/ packets\/s\)$/.test(last) || /decoder error/.test(r.stderr);
      }).map((f) => `${f}: exit ${runs.get(f)!.status}: ${runs.get(f)!.stderr.trim().split('\n').pop()}`);
      assert.deepEqual(bad, []);
    });

    it('yields no IM session, message, file transfer, credential or alert from any of them', () => {
      const im = captures.flatMap((f) => runs.get(f)!.events.filter((e) => IM_TYPES.has(e.type)).map((e) => `${f}: ${e.type} ${e.protocol ?? ''} ${e.kind ?? ''}`));
      assert.deepEqual(im, []);
    });

    it('ends each run with the closing stats event', () => {
      const without = captures.filter((f) => runs.get(f)!.events.at(-1)?.type !== 'stats');
      assert.deepEqual(without, []);
    });

    const gz = captures.filter((f) => f.endsWith('.gz'));
    if (gz.length) {
      it(`reads each of the ${gz.length} gzip-compressed ones as the capture it holds: the same output as its inflated copy`, async () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-gz-'));
        try {
          const names = gz.map((f) => f.replace(/\.gz$/, ''));
          gz.forEach((f, i) => fs.writeFileSync(path.join(tmp, names[i]), zlib.gunzipSync(fs.readFileSync(path.join(suite.dir, f)))));
          const plain = await analyzeEach(tmp, names);
          const differ = gz.filter((f, i) => runs.get(f)!.stdout !== plain.get(names[i])!.stdout || runs.get(f)!.status !== plain.get(names[i])!.status);
          assert.deepEqual(differ, []);
          assert.ok(gz.every((f) => runs.get(f)!.events.at(-1)?.packets > 0), 'a gzip capture read as empty');
        } finally {
          fs.rmSync(tmp, { recursive: true, force: true });
        }
      });
    }
  });
}
