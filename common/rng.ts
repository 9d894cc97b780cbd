// A small seeded pseudo-random generator (mulberry32): the same seed gives the same sequence on every
// run, so generated captures, corpora and randomized tests can be replayed. Not for anything secret.

/** numbers in [0, 1) from a 32-bit seed */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
