// Lines for a terminal. Paths, names and messages can carry control characters (a file name from a
// hostile directory, a user name from the wire): they are shown as \xNN, so a line stays one line and
// cannot recolour, move or rewrite the terminal (ESC, CSI 0x9b, CR, BS).

export function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** longest line written; a value quoted in a message (a name from a file or the wire) can be megabytes */
export const MAX_STDERR_LINE = 2048;
const HEAD = 1400;
const TAIL = 500;

/**
 * Cuts the middle out of an over-long line: the start says what was wrong, the end what to do. A cut
 * never splits a surrogate pair (that would print U+FFFD).
 */
export function shortLine(s: string): string {
  if (s.length <= MAX_STDERR_LINE) return s;
  let a = HEAD, z = s.length - TAIL;
  if (/[\ud800-\udbff]/.test(s[a - 1])) a--;
  if (/[\udc00-\udfff]/.test(s[z])) z++;
  return `${s.slice(0, a)} … (${z - a} characters left out) … ${s.slice(z)}`;
}

/** one line on standard error, its control characters escaped (a trailing line break is dropped first), at most about MAX_STDERR_LINE long */
export function stderrLine(text: string): void {
  process.stderr.write(`${shortLine(escapeControl(text.replace(/[\r\n]+$/, '')))}\n`);
}
