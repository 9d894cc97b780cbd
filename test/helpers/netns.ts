// Two network namespaces joined by a veth pair, for live-capture tests (root only). Traffic replayed on
// one end is captured on the other; nothing leaves the pair. Names carry the pid and a counter so that
// parallel runs do not collide; destroy() removes everything, also after a failed test.
import { spawnSync } from 'node:child_process';

let serial = 0;

export function haveCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why live tests cannot run here, or undefined when they can. */
export function liveSkipReason(): string | undefined {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root (network namespaces, packet capture)';
  if (!haveCommand('ip')) return "needs 'ip' (iproute2)";
  if (!haveCommand('tcpreplay')) return "needs 'tcpreplay'";
  try {
    require('cap');
  } catch {
    return "needs the 'cap' module built against libpcap (apt-get install libpcap-dev; npm rebuild cap)";
  }
  return undefined;
}

function run(args: string[]): void {
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${args.join(' ')}: ${(r.stderr || r.stdout || '').trim()}`);
}

export class VethPair {
  readonly nsA: string;
  readonly nsB: string;
  /** veth end in nsA (replay side) */
  readonly ifA: string;
  /** veth end in nsB (capture side) */
  readonly ifB: string;

  constructor() {
    const tag = `${process.pid % 1000000}${String.fromCharCode(97 + (serial++ % 26))}`;
    this.nsA = `shim${tag}A`;
    this.nsB = `shim${tag}B`;
    this.ifA = `sva${tag}`; // interface names: at most 15 characters
    this.ifB = `svb${tag}`;
    try {
      run(['ip', 'netns', 'add', this.nsA]);
      run(['ip', 'netns', 'add', this.nsB]);
      // no IPv6 autoconfiguration chatter (router solicitations, MLD) on the pair: only replayed frames
      for (const ns of [this.nsA, this.nsB]) {
        for (const k of ['all', 'default']) run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${k}.disable_ipv6=1`]);
      }
      run(['ip', 'link', 'add', this.ifA, 'netns', this.nsA, 'type', 'veth', 'peer', 'name', this.ifB, 'netns', this.nsB]);
      run(['ip', '-n', this.nsA, 'link', 'set', this.ifA, 'up']);
      run(['ip', '-n', this.nsB, 'link', 'set', this.ifB, 'up']);
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /** argv prefix that runs a command inside a namespace */
  in(ns: string): string[] {
    return ['ip', 'netns', 'exec', ns];
  }

  /** Replays a capture file out of ifA; returns the packet count tcpreplay reports as sent. */
  replay(file: string, opts: { pps?: number; topspeed?: boolean; loop?: number } = {}): { sent: number; failed: number; output: string } {
    const rate = opts.topspeed ? ['--topspeed'] : opts.pps ? [`--pps=${opts.pps}`] : ['--pps=2000'];
    const loop = opts.loop ? [`--loop=${opts.loop}`] : [];
    const r = spawnSync('ip', ['netns', 'exec', this.nsA, 'tcpreplay', '-q', ...rate, ...loop, '-i', this.ifA, file], { encoding: 'utf8', timeout: 600000 });
    const output = `${r.stdout}${r.stderr}`;
    if (r.status !== 0) throw new Error(`tcpreplay failed: ${output.trim()}`);
    const m = /Actual:\s+(\d+)\s+packets/.exec(output);
    const f = /Failed packets:\s+(\d+)/.exec(output);
    if (!m) throw new Error(`cannot read tcpreplay's packet count from: ${output.trim()}`);
    return { sent: Number(m[1]), failed: f ? Number(f[1]) : 0, output };
  }

  destroy(): void {
    // deleting a namespace deletes its veth end, and with it the peer
    for (const ns of [this.nsA, this.nsB]) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
}
