// "Did you mean": the name a user's typo is nearest to (an option, a setting, a key).

/**
 * The one candidate within a small edit distance of `word` (a typo: one or two letters wrong, missing,
 * extra or swapped), for "did you mean"; undefined when none is near or two are equally near.
 */
export function closest(word: string, candidates: string[]): string | undefined {
  if (word.length > 64 || !word) return undefined; // bounded work on whatever was typed
  // the start of exactly one name (--form for --format)
  const starts = word.length >= 3 ? candidates.filter((c) => c.startsWith(word)) : [];
  if (starts.length === 1) return starts[0];
  const max = word.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestD = max + 1;
  let tie = false;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      best = c;
      bestD = d;
      tie = false;
    } else if (d === bestD) tie = true;
  }
  return bestD <= max && !tie ? best : undefined;
}

/** Levenshtein distance with adjacent transpositions (optimal string alignment) */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
