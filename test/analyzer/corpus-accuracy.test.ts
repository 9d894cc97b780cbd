// The DLP corpus (analyzer/dlp/corpus/*.tsv) reaches the accuracy targets: precision and recall
// ≥ 0.99 for cards and SSNs, ≥ 0.98 for the others. Accuracy only; speed is bench:dlp's business.
import assert from 'node:assert/strict';
import { evaluateCorpus } from '../../analyzer/dlp/accuracy';

describe('analyzer: DLP corpus accuracy', () => {
  const r = evaluateCorpus();
  const targets: Record<string, number> = { pan: 0.99, us_ssn: 0.99, iban: 0.98, aba_routing: 0.98, us_bank_account: 0.98 };
  it('the corpus has positives of every detector and hard negatives', () => {
    assert.ok(r.lines > 4000);
    for (const s of r.scores) assert.ok(s.tp + s.fn >= 300, `${s.detector}: ${s.tp + s.fn} positives`);
  });
  for (const [d, min] of Object.entries(targets)) {
    it(`${d}: precision and recall ≥ ${min}`, () => {
      const s = r.scores.find((x) => x.detector === d)!;
      const wrong = r.errors.filter((e) => e.expected.includes(d) !== e.found.includes(d)).slice(0, 5);
      const why = wrong.map((e) => `${e.file}:${e.line} ${JSON.stringify(e.text)}`).join('; ');
      assert.ok(s.precision >= min, `precision ${s.precision.toFixed(4)}: ${why}`);
      assert.ok(s.recall >= min, `recall ${s.recall.toFixed(4)}: ${why}`);
    });
  }
});
