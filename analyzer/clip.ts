// Cutting untrusted text for alert summaries, shared by the analyzer and the file service.

/**
 * `v` as text of at most `n` UTF-16 units, marked '…' when cut. The cut never splits a surrogate
 * pair: an emoji cut in half leaves a lone surrogate, which JSON.stringify writes as \udXXX and some
 * SIEMs reject. Text of `n` units or fewer is returned as it is.
 */
export function clip(v: unknown, n = 96): string {
  if (v === undefined || v === null || v === '') return '';
  const s = typeof v === 'string' ? v : String(v);
  return s.length <= n ? s : cutBeforePair(s, n) + '…';
}

/**
 * The first `n` UTF-16 units of `s`, or `n - 1` when unit `n` is the first half of a surrogate pair:
 * the one cut used wherever wire text is shortened (clip, identityPrefix, sanitizeFileName).
 */
export function cutBeforePair(s: string, n: number): string {
  if (s.length <= n) return s;
  const c = s.charCodeAt(n - 1);
  return s.slice(0, c >= 0xd800 && c <= 0xdbff ? n - 1 : n);
}
