// Mutation fuzzing of the whole read path — capture reader, decoder, flow table, reassembly and the
// real signature engine — on the shared captures: bit flips, byte runs, truncations and corrupted
// length fields. Seeded and reproducible (SHADOWIM_FUZZ_SEED, default 1), time-bounded
// (SHADOWIM_FUZZ_SECONDS, default 20). The assertions: only CaptureError ever escapes, nothing is
// caught on the packet path (internalErrors), every event serializes, no run takes seconds.
//
// The loop runs in a child process (fuzz-runner.ts): a synchronous infinite loop never returns to
// a time check, so only killing the process bounds it. The failure names the saved input.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { REPO, havePcaps } from '../helpers/paths';
import type { Failure, Summary } from './fuzz-runner';

const RUNNER = path.join('test', 'sensor', 'fuzz-runner.ts');

interface ChildResult {
  summary?: Summary;
  /** set when the child failed, hung or died: one message naming the input and how to reproduce */
  message?: string;
}

/** Runs the fuzz runner in a child process; kills it after `killAfterMs`. */
function fuzzInChild(args: string[], env: Record<string, string>, killAfterMs: number): Promise<ChildResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-fuzz-'));
  const child = spawn(process.execPath, ['--max-old-space-size=1024', path.join(REPO, 'bin', 'run-ts.js'), RUNNER, ...args], {
    cwd: REPO,
    env: { ...process.env, ...env, SHADOWIM_FUZZ_DIR: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '', err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, killAfterMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      let summary: Summary | undefined;
      try {
        summary = JSON.parse(last);
      } catch {
        /* no summary: it died or was killed */
      }
      if (summary?.ok && code === 0) {
        fs.rmSync(dir, { recursive: true, force: true });
        return resolve({ summary });
      }
      const read = (f: string) => {
        try {
          return JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
        } catch {
          return undefined;
        }
      };
      const cur = read('current.json') ?? {};
      const failure: Partial<Failure> = summary?.failure ?? read('failure.json') ?? {
        kind: killed ? 'hang' : 'exception',
        ...cur,
        detail: killed ? `still running after ${killAfterMs / 1000} s: killed`
          : `the runner exited (${signal ?? `status ${code}`}) in the middle of a run:\n${err.trim()}`,
      };
      let input = failure.input ?? cur.input;
      if (input === path.join(dir, 'input.pcap') && fs.existsSync(input)) {
        const kept = path.join(dir, `failed-${failure.seed}-${failure.run}.pcap`);
        fs.renameSync(input, kept);
        input = kept;
      }
      const message = failure.run === undefined
        ? `sensor fuzz: the runner failed before its first run (${signal ?? `status ${code}`}):\n${err.trim()}`
        : `sensor fuzz: ${failure.kind} at run ${failure.run} of seed ${failure.seed} (source capture ${failure.source}): ${failure.detail}\n` +
          `  input saved as ${input}\n` +
          `  reproduce: node bin/run-ts.js ${RUNNER} --replay ${input}\n` +
          `         or: SHADOWIM_FUZZ_SEED=${failure.seed} node bin/run-ts.js ${RUNNER} --run ${failure.run}`;
      resolve({ summary, message });
    });
  });
}

(havePcaps() ? describe : describe.skip)('sensor: fuzzing the read path with mutated real captures', function () {
  const seconds = Number(process.env.SHADOWIM_FUZZ_SECONDS ?? 20);
  const seed = Number(process.env.SHADOWIM_FUZZ_SEED ?? 1);
  this.timeout((seconds + 60) * 1000);

  it(`survives ${seconds} s of mutations (seed ${seed}), in a child killed after ${seconds + 30} s`, async () => {
    const res = await fuzzInChild([], { SHADOWIM_FUZZ_SEED: String(seed), SHADOWIM_FUZZ_SECONDS: String(seconds) }, (seconds + 30) * 1000);
    if (res.message) assert.fail(res.message);
    const s = res.summary!;
    assert.ok(s.runs > 10, `only ${s.runs} runs`);
    console.log(`      ${s.runs} mutated captures, ${s.packets} packets, ${s.badInput} reported as bad input, slowest run ${s.slowestMs} ms of CPU`);
  });
});

describe('sensor: the fuzz bound holds when a run never returns', function () {
  this.timeout(30_000);
  // a FIFO nobody writes to: opening it blocks the runner's main thread for good
  const fifo = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-fifo-')), 'never');
  const haveFifo = spawnSync('mkfifo', [fifo]).status === 0;
  after(() => fs.rmSync(path.dirname(fifo), { recursive: true, force: true }));

  (haveFifo ? it : it.skip)('the parent kills the child at its bound and names the input', async () => {
    const t0 = Date.now();
    // the seed pinned: the message names it, and a campaign's SHADOWIM_FUZZ_SEED must not change it
    const res = await fuzzInChild(['--replay', fifo], { SHADOWIM_FUZZ_HANG_MS: '600000', SHADOWIM_FUZZ_SEED: '1' }, 8000);
    assert.ok(Date.now() - t0 < 20_000);
    assert.match(res.message ?? '', /^sensor fuzz: hang at run 0 of seed 1 \(source capture .*never\): still running after 8 s: killed\n {2}input saved as .*never\n {2}reproduce: /);
  });

  (haveFifo ? it : it.skip)('the runner\'s own watchdog reports a stuck run before that', async () => {
    const res = await fuzzInChild(['--replay', fifo], { SHADOWIM_FUZZ_HANG_MS: '1000' }, 20_000);
    assert.match(res.message ?? '', /^sensor fuzz: hang at run 0 .*run still going after \d+ s: killed\n {2}input saved as .*never\n/);
  });
});
