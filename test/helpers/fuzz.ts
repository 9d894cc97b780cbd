// Knobs of the seeded decoder fuzz tests, for a campaign longer than CI's (unset: each test's fixed
// seed, case count and time bound, as CI runs them):
//   SHADOWIM_FUZZ_SEED=N   each test's fixed seed is replaced by one made of N and it (so the tests of
//                          one run still differ); the same N gives the same inputs again
//   SHADOWIM_FUZZ_SCALE=K  K times the cases (or the seconds of a time-bounded loop), and K times the
//                          time bound of the test's child process
// e.g. SHADOWIM_FUZZ_SEED=1001 SHADOWIM_FUZZ_SCALE=20 npx mocha test/signatures/msn-fuzz.test.ts

const SCALE = Math.max(0.01, Number(process.env.SHADOWIM_FUZZ_SCALE ?? 1) || 1);

/** the seed a fuzz test uses instead of its fixed one (never 0: xorshift would stay 0) */
export function fuzzSeed(fixed: number): number {
  const s = process.env.SHADOWIM_FUZZ_SEED;
  if (s === undefined || s === '') return fixed;
  return (Math.imul((Number(s) >>> 0) ^ 0x5bd1e995, 0x9e3779b1) ^ fixed) >>> 0 || 1;
}

/** xorshift32 (Marsaglia): a small generator whose numbers (uint32) a seed fixes on every machine; seed 0 counts as 1 */
export function xorshift32(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** the number of cases (or ms) of a fuzz loop */
export function fuzzCases(n: number): number {
  return Math.max(1, Math.round(n * SCALE));
}

/** the child process's time bound of a fuzz test, in seconds */
export function fuzzSeconds(s: number): number {
  return Math.ceil(s * Math.max(1, SCALE));
}

/** a fuzz test's random choices, all made from one xorshift32 stream (so a seed replays them) */
export class Rand {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = xorshift32(seed);
  }
  /** a raw uint32 */
  u32(): number {
    return this.next();
  }
  /** 0 … n-1 */
  int(n: number): number {
    return this.next() % n;
  }
  /** a … b, both included */
  range(a: number, b: number): number {
    return a + this.int(b - a + 1);
  }
  chance(p: number): boolean {
    return this.next() / 0x100000000 < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  /** shuffles xs in place (Fisher–Yates) and returns it */
  shuffle<T>(xs: T[]): T[] {
    for (let i = xs.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [xs[i], xs[j]] = [xs[j], xs[i]];
    }
    return xs;
  }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.next() & 0xff;
    return b;
  }
  token(n: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
}
