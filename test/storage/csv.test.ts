// Formula-injection vectors for CSV exports: every cell a spreadsheet could run as a formula starts
// with a ' (and is quoted when RFC 4180 needs it); ordinary text is left as it is.
import assert from 'node:assert/strict';
import { csvCell, csvRow } from '../../storage/csv';

describe('CSV cells and formula injection', () => {
  const formulas = [
    '=1+1', '+1+1', '-1+1', '@SUM(A1)', '\t=1', '\r=1', '\n=1',
    // leading NUL (ASVS 5.0 lists it): some importers drop it and see the = behind it
    '\u0000=cmd|\'/c calc\'!A1', '\u0000abc',
    // whitespace and invisible characters an importer may trim before the =
    ' =1+1', '\u00a0=1+1', '\u3000=1+1', '\u200b=1+1', '\ufeff=1+1', '\u202e=1+1', '\u0001=1',
    // forms that NFKC folds to a trigger: full-width, small, super/subscript
    '＝HYPERLINK("http://x.example/")', '＋1', '－1', '＠SUM(A1)', '﹦1', '﹢1', '﹣1', '﹫x', '⁼1', '₌1', '⁺1', '⁻1', '₋1', '\u22121',
    ' \u0000 ＝1',
  ];
  for (const f of formulas) {
    it(`neutralises ${JSON.stringify(f)}`, () => {
      const c = csvCell(f);
      // the cell as a spreadsheet reads it: unquoted per RFC 4180
      const text = c.startsWith('"') ? c.slice(1, -1).replace(/""/g, '"') : c;
      assert.equal(text, "'" + f);
    });
  }

  it('leaves ordinary text, numbers and empty cells as they are', () => {
    for (const s of ['hello', 'a=b', 'x-1', '1-2', 'user@example.com', '   ', '', '日本語', '＄100', '\u00a0', '(1)'])
      assert.equal(csvCell(s), s, JSON.stringify(s));
    assert.equal(csvCell(42), '42');
    assert.equal(csvCell(null), '');
    assert.equal(csvRow(['a,b', 'say "hi"', '=1']), '"a,b","say ""hi""",\'=1\r\n');
  });

  it('a long run of whitespace is judged in linear time', () => {
    assert.equal(csvCell(' '.repeat(1_000_000) + 'x').length, 1_000_001);
    assert.ok(csvCell(' '.repeat(1_000_000) + '=').startsWith("'"));
  });
});
