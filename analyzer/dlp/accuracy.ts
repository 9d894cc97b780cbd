// Precision and recall of the built-in detectors on the corpus in ./corpus (see bench/dlp-gen.ts).
import fs from 'node:fs';
import path from 'node:path';
import { DlpScanner, BUILTIN_DETECTORS } from './scanner';
import { defaultDlp } from '../policy';

export interface DetectorScore {
  detector: string;
  tp: number;
  fp: number;
  fn: number;
  precision: number;
  recall: number;
}

export interface CorpusResult {
  lines: number;
  scores: DetectorScore[];
  /** the misses and false alarms, for a human to read */
  errors: Array<{ file: string; line: number; expected: string[]; found: string[]; text: string }>;
}

export const CORPUS_DIR = path.join(__dirname, 'corpus');

function unescape(s: string): string {
  return s.replace(/\\([\\tn0])/g, (_, c) => (c === 't' ? '\t' : c === 'n' ? '\n' : c === '0' ? '\0' : '\\'));
}

export function readCorpus(dir = CORPUS_DIR): Array<{ file: string; line: number; expected: string[]; text: string }> {
  const out: Array<{ file: string; line: number; expected: string[]; text: string }> = [];
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.tsv')).sort()) {
    const lines = fs.readFileSync(path.join(dir, f), 'utf8').split('\n');
    lines.forEach((l, i) => {
      if (!l || l.startsWith('#')) return;
      const tab = l.indexOf('\t');
      const exp = l.slice(0, tab);
      out.push({ file: f, line: i + 1, expected: exp === '-' ? [] : exp.split(','), text: unescape(l.slice(tab + 1)) });
    });
  }
  return out;
}

export function evaluateCorpus(dir = CORPUS_DIR): CorpusResult {
  const scanner = new DlpScanner(defaultDlp());
  const counts = new Map<string, { tp: number; fp: number; fn: number }>(BUILTIN_DETECTORS.map((d) => [d, { tp: 0, fp: 0, fn: 0 }]));
  const errors: CorpusResult['errors'] = [];
  const corpus = readCorpus(dir);
  for (const c of corpus) {
    const found = [...new Set(scanner.scan(c.text).filter((f) => f.alert !== false).map((f) => f.detector))];
    let wrong = false;
    for (const d of BUILTIN_DETECTORS) {
      const e = c.expected.includes(d);
      const f = found.includes(d);
      const k = counts.get(d)!;
      if (e && f) k.tp++;
      else if (f) {
        k.fp++;
        wrong = true;
      } else if (e) {
        k.fn++;
        wrong = true;
      }
    }
    if (wrong) errors.push({ file: c.file, line: c.line, expected: c.expected, found, text: c.text });
  }
  const scores = [...counts].map(([detector, k]) => ({
    detector,
    ...k,
    precision: k.tp + k.fp ? k.tp / (k.tp + k.fp) : 1,
    recall: k.tp + k.fn ? k.tp / (k.tp + k.fn) : 1,
  }));
  return { lines: corpus.length, scores, errors };
}
