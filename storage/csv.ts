// CSV for spreadsheets: RFC 4180 quoting, and cells that a spreadsheet would run as a formula get a
// leading ' so wire text never executes.

/**
 * A formula trigger, judged generously (a stray ' costs little, a formula from the wire a lot):
 * - the first character is one of OWASP's and ASVS 5.0's list: = + - @ TAB CR LF NUL, whatever follows;
 * - or the first visible character, after whitespace, controls and invisible format characters (NUL,
 *   NBSP, ideographic space, zero-width and bidi marks, BOM) that importers may trim or drop, is one
 *   that NFKC folds to = + - @: full-width ＝＋－＠ (Excel in East Asian locales takes ＝ as =, as IMEs
 *   type it), small ﹦﹢﹣﹫, super/subscript ⁼₌⁺₊⁻₋ (the minus ones fold to the minus sign U+2212,
 *   taken as a trigger too).
 */
// eslint-disable-next-line no-control-regex
const TRIGGER_FIRST = /^[=+\-@\t\r\n\u0000]/;
const FIRST_VISIBLE = /^[\s\p{Cc}\p{Cf}]*([^\s\p{Cc}\p{Cf}])/u;

export function formulaLike(s: string): boolean {
  if (TRIGGER_FIRST.test(s)) return true;
  const m = FIRST_VISIBLE.exec(s);
  return !!m && /^[=+\-@\u2212]/.test(m[1].normalize('NFKC'));
}

export function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  if (formulaLike(s)) s = "'" + s;
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}

export function csvRow(cells: unknown[]): string {
  return cells.map(csvCell).join(',') + '\r\n';
}
