// Counts in messages: '1 warning', '2 warnings', '0 flows'.

/** `n` and the noun, singular only for exactly 1 */
export function count(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
