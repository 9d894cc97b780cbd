// Real captures of other protocols: tcpdump 4.99.3's test suite (about 670 captures of a few hundred
// protocols, from BGP to Zephyr, many cut short or malformed on purpose: the crash reproducers of
// tcpdump's own fuzzing). None of it is IM, so none of it may yield an IM event, and every file must be
// read to its end without a decoder of ours throwing. .ci/fetch-test-captures.sh fetches them from
// Debian's tcpdump source package (sha256 checked) into $SHADOWIM_THIRD_PARTY (../third-party-captures).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { THIRD_PARTY_DIR, THIRD_PARTY_HINT } from '../helpers/paths';
import { shadowimAsync, type RunResult } from '../helpers/run';

const DIR = path.join(THIRD_PARTY_DIR, 'tcpdump-4.99.3', 'tests');
const have = fs.existsSync(DIR);
const IM_TYPES = new Set(['session', 'message', 'file_transfer', 'credential', 'alert']);

(have ? describe : describe.skip)(`corpus: tcpdump 4.99.3's test captures in ${DIR} (${THIRD_PARTY_HINT})`, function () {
  this.timeout(900000);
  const captures = have ? fs.readdirSync(DIR).filter((f) => /\.(pcap|pcapng)$/.test(f)).sort() : [];
  const runs = new Map<string, RunResult>();

  before(async () => {
    let next = 0;
    // two at a time: these machines have two cores
    await Promise.all([0, 1].map(async () => {
      while (next < captures.length) {
        const f = captures[next++];
        runs.set(f, await shadowimAsync(['analyze', path.join(DIR, f), '--format', 'jsonl'], { timeout: 300000 }));
      }
    }));
  });

  it('holds tcpdump\'s test captures (over 600)', () => {
    assert.ok(captures.length >= 600, `only ${captures.length} captures in ${DIR}`);
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
});
