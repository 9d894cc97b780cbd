// Lines for a terminal. Paths, names and messages can carry control characters (a file name from a
// hostile directory, a user name from the wire): they are shown as \xNN, so a line stays one line and
// cannot recolour, move or rewrite the terminal (ESC, CSI 0x9b, CR, BS).

export function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** one line on standard error, its control characters escaped (a trailing line break is dropped first) */
export function stderrLine(text: string): void {
  process.stderr.write(`${escapeControl(text.replace(/[\r\n]+$/, ''))}\n`);
}
