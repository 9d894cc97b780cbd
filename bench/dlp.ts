// DLP accuracy benchmark: precision and recall per detector on analyzer/dlp/corpus, and scan speed.
//   npm run bench:dlp            (add --errors to list every miss and false alarm)
import { evaluateCorpus, readCorpus } from '../analyzer/dlp/accuracy';
import { DlpScanner } from '../analyzer/dlp/scanner';
import { defaultDlp } from '../analyzer/policy';

const r = evaluateCorpus();
console.log(`DLP corpus: ${r.lines} lines (analyzer/dlp/corpus/*.tsv)\n`);
console.log('| detector | true pos. | false pos. | false neg. | precision | recall |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
for (const s of r.scores) console.log(`| ${s.detector} | ${s.tp} | ${s.fp} | ${s.fn} | ${s.precision.toFixed(4)} | ${s.recall.toFixed(4)} |`);
if (process.argv.includes('--errors')) {
  console.log('');
  for (const e of r.errors) console.log(`${e.file}:${e.line} expected [${e.expected}] found [${e.found}]: ${JSON.stringify(e.text)}`);
} else if (r.errors.length) console.log(`\n${r.errors.length} lines wrong; run with --errors to list them`);

// speed: the whole corpus, repeatedly, plus one 64 KiB message
const scanner = new DlpScanner(defaultDlp());
const texts = readCorpus().map((c) => c.text);
let n = 0;
const t0 = process.hrtime.bigint();
while (Number(process.hrtime.bigint() - t0) < 1e9) {
  for (const t of texts) scanner.scan(t);
  n += texts.length;
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
const big = ('lorem ipsum 4111 1111 1111 1111 dolor 2024-01-15 sit amet 555-867-5309 ').repeat(1000).slice(0, 65536);
const t1 = process.hrtime.bigint();
const found = scanner.scan(big).length;
const bigMs = Number(process.hrtime.bigint() - t1) / 1e6;
console.log(`\nspeed: ${Math.round(n / secs)} short messages/s; one 64 KiB message with ${found} findings: ${bigMs.toFixed(1)} ms`);

// the whole analyzer (policy, DLP, redaction, suppression) on a stream of message events
{
  const { createAnalyzer } = require('../analyzer') as typeof import('../analyzer');
  let emitted = 0;
  const an = createAnalyzer({ write: () => void emitted++ });
  const base = Date.UTC(2024, 0, 15);
  const evs = texts.slice(0, 2000).map((text, i) => ({
    type: 'message' as const,
    ts: new Date(base + i * 1000).toISOString(),
    protocol: 'irc',
    from: `user${i % 50}`,
    to: '#room',
    text,
    direction: 'outbound' as const,
    client: { ip: `10.0.${i % 7}.${i % 200}`, port: 40000 + (i % 100) },
    server: { ip: '198.51.100.7', port: 6667 },
    flow_id: `flow${i % 100}`,
  }));
  let m = 0;
  const t2 = process.hrtime.bigint();
  while (Number(process.hrtime.bigint() - t2) < 1e9) {
    for (const e of evs) an.write(e);
    m += evs.length;
  }
  an.close();
  const s2 = Number(process.hrtime.bigint() - t2) / 1e9;
  console.log(`analyzer: ${Math.round(m / s2)} message events/s end to end (default policy; ${emitted} events out)`);
}
