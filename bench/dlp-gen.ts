// Generates the DLP accuracy corpus (analyzer/dlp/corpus/*.tsv) from a fixed seed:
//   node bin/run-ts.js bench/dlp-gen.ts
// Positives carry real check digits computed here (Luhn, SSA rules, mod-97, ABA 3-7-1) on random
// digits — never real people's data. Each line: expected detectors (comma list, or "-") TAB text.
// Escapes in text: \t \n \\ and \0 (a NUL, for UTF-16-ish text).
import fs from 'node:fs';
import path from 'node:path';
import { rng } from '../common/rng';

const rnd = rng(0x5eed1234);
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
const digits = (n: number) => Array.from({ length: n }, () => int(0, 9)).join('');

function luhnDigit(body: string): number {
  let sum = 0;
  let dbl = true;
  for (let i = body.length - 1; i >= 0; i--) {
    let d = body.charCodeAt(i) - 48;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return (10 - (sum % 10)) % 10;
}
function card(prefix: string, len: number): string {
  const body = prefix + digits(len - prefix.length - 1);
  return body + luhnDigit(body);
}
function notLuhn(prefix: string, len: number): string {
  const c = card(prefix, len);
  return c.slice(0, -1) + ((Number(c.slice(-1)) + int(1, 9)) % 10);
}
const NETWORKS: Array<[() => string, number[]]> = [
  [() => '4', [16, 16, 16, 13, 19]],
  [() => String(int(51, 55)), [16]],
  [() => String(int(2221, 2720)), [16]],
  [() => pick(['34', '37']), [15]],
  [() => pick(['6011', '65', String(int(644, 649))]), [16]],
  [() => String(int(3528, 3589)), [16]],
  [() => '36', [14]],
  [() => '62', [16, 19]],
  [() => pick(['6759', '6761', '5018']), [16, 19]],
];
function randomCard(): string {
  const [pre, lens] = pick(NETWORKS);
  return card(pre(), pick(lens));
}
function groupCard(c: string, sep: string): string {
  if (c.length === 15) return [c.slice(0, 4), c.slice(4, 10), c.slice(10)].join(sep);
  if (c.length === 14 && rnd() < 0.5) return [c.slice(0, 4), c.slice(4, 10), c.slice(10)].join(sep);
  return c.match(/.{1,4}/g)!.join(sep);
}
function ssn(): string {
  let area: number;
  do area = int(1, 899);
  while (area === 666);
  const s = String(area).padStart(3, '0') + String(int(1, 99)).padStart(2, '0') + String(int(1, 9999)).padStart(4, '0');
  return ['078051120', '219099999', '123456789'].includes(s) ? ssn() : s;
}
const fmtSsn = (s: string, sep: string) => `${s.slice(0, 3)}${sep}${s.slice(3, 5)}${sep}${s.slice(5)}`;
function aba(): string {
  const p = pick([int(0, 12), int(21, 32), int(61, 72), 80]);
  const body = String(p).padStart(2, '0') + digits(6);
  const w = [3, 7, 1, 3, 7, 1, 3, 7];
  let s = 0;
  for (let i = 0; i < 8; i++) s += Number(body[i]) * w[i];
  return body + ((10 - (s % 10)) % 10);
}
const IBAN_LEN: Record<string, number> = { DE: 22, GB: 22, FR: 27, ES: 24, IT: 27, NL: 18, BE: 16, CH: 21, AT: 20, PL: 28, SE: 24, IE: 22, PT: 25, NO: 15, DK: 18, FI: 18 };
function mod97(s: string): number {
  let r = 0;
  for (const ch of s) {
    const v = /[A-Z]/.test(ch) ? ch.charCodeAt(0) - 55 : Number(ch);
    r = v >= 10 ? (r * 100 + v) % 97 : (r * 10 + v) % 97;
  }
  return r;
}
function iban(cc = pick(Object.keys(IBAN_LEN))): string {
  const n = IBAN_LEN[cc] - 4;
  let bban = digits(n);
  if (cc === 'GB' || cc === 'NL' || cc === 'IE') bban = Array.from({ length: 4 }, () => String.fromCharCode(65 + int(0, 25))).join('') + digits(n - 4);
  const cd = 98 - mod97(bban + cc + '00');
  return cc + String(cd).padStart(2, '0') + bban;
}
const spaced = (s: string) => s.match(/.{1,4}/g)!.join(' ');

function badAba(): string {
  const r = aba();
  return `routing ${r.slice(0, 8)}${(Number(r[8]) + int(1, 9)) % 10}`;
}

type Line = [string, string];
const out: Record<string, Line[]> = { cards: [], ssn: [], iban: [], aba: [], bank: [], negatives: [] };

// ---- payment cards ----
const CARD_CTX = ['my card is {}', 'card: {}', 'visa {} exp 09/27', 'here you go {} cvv 123', 'cc# {}', 'credit card number {}.', 'use this one {}', '{}', 'pls charge {} thx', '<td>{}</td>', 'Kreditkarte {}', 'number is\n{}\n', 'the amex is {}', 'debit {} (expires 11/26)', 'ok so {} and the code is on the back', 'payment details: {} / John', 'mastercard {}', '"{}"', 'paid with {}, receipt attached', 'card ending... no wait full number {}'];
for (let i = 0; i < 900; i++) {
  const c = randomCard();
  const f = pick(['plain', 'space', 'space', 'dash', 'dash']);
  const shown = f === 'plain' ? c : groupCard(c, f === 'space' ? ' ' : '-');
  out.cards.push(['pan', pick(CARD_CTX).replace('{}', shown)]);
}
for (let i = 0; i < 30; i++) {
  // UTF-16-ish: NULs between the characters
  const c = groupCard(randomCard(), ' ');
  out.cards.push(['pan', ('card ' + c).split('').join('\0')]);
}
for (let i = 0; i < 30; i++) out.cards.push(['pan', `card ${groupCard(randomCard(), '\u00a0')}`]);
for (let i = 0; i < 40; i++) out.cards.push(['pan,us_ssn', `card ${groupCard(randomCard(), ' ')} and my ssn ${fmtSsn(ssn(), '-')}`]);
for (const t of ['4111111111111111', '5555555555554444', '378282246310005', '6011111111111117']) out.cards.push(['pan', `test card ${t}`]);

// ---- SSNs ----
const SSN_CTX = ['SSN {}', 'my social security number is {}', 'ssn: {}', 'soc sec {}', 'her SSN is {}, dob 4/12/80', '{}', 'use {} for the form', 'social {} thanks'];
for (let i = 0; i < 900; i++) {
  const s = ssn();
  const f = pick(['dash', 'dash', 'dash', 'space', 'ctxplain', 'ctxdot']);
  if (f === 'dash') out.ssn.push(['us_ssn', pick(SSN_CTX).replace('{}', fmtSsn(s, '-'))]);
  else if (f === 'space') out.ssn.push(['us_ssn', pick(SSN_CTX).replace('{}', fmtSsn(s, ' '))]);
  else if (f === 'ctxplain') out.ssn.push(['us_ssn', pick(['SSN {}', 'ssn# {}', 'social security no {}', 'SSN:{}']).replace('{}', s)]);
  else out.ssn.push(['us_ssn', pick(['SSN {}', 'social security {}']).replace('{}', fmtSsn(s, '.'))]);
}
for (let i = 0; i < 30; i++) out.ssn.push(['us_ssn', `<b>SSN</b> ${fmtSsn(ssn(), '-')}<br>`]);

// ---- IBANs ----
for (let i = 0; i < 600; i++) {
  const v = iban();
  const f = pick(['compact', 'spaced', 'spaced', 'lower']);
  if (f === 'compact') out.iban.push(['iban', pick(['IBAN {}', 'send it to {} please', '{}', 'bank: {}']).replace('{}', v)]);
  else if (f === 'spaced') out.iban.push(['iban', pick(['IBAN: {}', 'wire to {} BIC XYZ', '{}.', 'my account {} thanks']).replace('{}', spaced(v))]);
  else out.iban.push(['iban', `iban ${v.toLowerCase()}`]);
}

// ---- ABA routing ----
for (let i = 0; i < 500; i++) {
  const r = aba();
  const shown = rnd() < 0.2 ? `${r.slice(0, 4)}-${r.slice(4, 8)}-${r[8]}` : r;
  out.aba.push(['aba_routing', pick(['routing number {}', 'ABA {}', 'routing: {}', 'RTN {}', 'the routing # is {}', 'bank routing {} ok']).replace('{}', shown)]);
}
for (let i = 0; i < 200; i++) {
  const r = aba();
  const acct = digits(int(8, 14)).replace(/^0/, '4');
  out.aba.push(['aba_routing,us_bank_account', `routing ${r} account ${acct}`]);
}

// ---- US bank accounts ----
for (let i = 0; i < 500; i++) {
  const a = String(int(1, 9)) + digits(int(7, 16));
  out.bank.push(['us_bank_account', pick(['account number {}', 'acct# {}', 'checking account {}', 'savings acct {}', 'my account is {}', 'a/c {}', 'deposit to account {}']).replace('{}', a)]);
}

// ---- hard negatives ----
const N = out.negatives;
const neg = (t: string) => N.push(['-', t]);
for (let i = 0; i < 150; i++) neg(`${pick(['order', 'Order #', 'order no.', 'invoice', 'ref', 'confirmation', 'ticket', 'booking ref'])} ${pick([randomCard(), digits(16), groupCard(randomCard(), ' ')])}`);
for (let i = 0; i < 100; i++) neg(`${pick(['tracking', 'UPS tracking', 'track it:'])} 1Z${Array.from({ length: 6 }, () => pick('ABCDEFGHJKLMNPRSTUVWXYZ0123456789'.split(''))).join('')}${digits(10)}`);
for (let i = 0; i < 100; i++) neg(`${pick(['fedex', 'FedEx tracking', 'shipment'])} ${pick([digits(12), digits(15), `${digits(4)} ${digits(4)} ${digits(4)}`])}`);
for (let i = 0; i < 100; i++) neg(`${pick(['USPS', 'usps tracking', 'tracking number'])} ${pick(['9400', '9205', '9361', '9270'])}${digits(int(16, 18))}`);
for (let i = 0; i < 100; i++) neg(`call me at ${pick([`+1 ${int(201, 989)} ${int(200, 999)} ${digits(4)}`, `(${int(201, 989)}) ${int(200, 999)}-${digits(4)}`, `${int(201, 989)}-${int(200, 999)}-${digits(4)}`, `+44 20 ${digits(4)} ${digits(4)}`, `+49 30 ${digits(8)}`])}`);
for (let i = 0; i < 100; i++) {
  const d = new Date(Date.UTC(2000, 0, 1) + int(0, 9000) * 86400000 + int(0, 86399) * 1000);
  const iso = d.toISOString();
  neg(pick([`at ${iso}`, `ts=${d.getTime()}`, `epoch ${Math.floor(d.getTime() / 1000)}`, `${iso.slice(0, 10)} ${iso.slice(11, 19)}`, `${iso.slice(0, 10).replace(/-/g, '')}${iso.slice(11, 19).replace(/:/g, '')}`, `log ${iso.slice(0, 19).replace(/[-T:]/g, '')}${digits(3)}`]));
}
for (let i = 0; i < 100; i++) {
  // SSN-shaped dates and codes
  const mm = String(int(1, 12)).padStart(2, '0'), dd = String(int(1, 28)).padStart(2, '0'), yy = String(int(1950, 2030));
  neg(pick([`dob ${mm}-${dd}-${yy}`, `${yy}-${mm}-${dd}`, `${mm}/${dd}/${yy}`, `date ${dd}.${mm}.${yy}`, `meet on ${yy}${mm}${dd}`, `case ${int(100, 899)}-${mm}-${yy}`, `part no ${fmtSsn(ssn(), '-')}`, `INC-${fmtSsn(ssn(), '-')}`, `model ${fmtSsn(ssn(), '-')}`]));
}
for (let i = 0; i < 60; i++) neg(pick([`ssn 000-${digits(2)}-${digits(4)}`, `ssn 666-${int(10, 99)}-${int(1000, 9999)}`, `ssn ${int(900, 999)}-${int(10, 99)}-${int(1000, 9999)}`, 'ssn 078-05-1120', 'ssn 123-45-6789', 'SSN 219-09-9999', `ssn ${int(100, 665)}-00-${int(1000, 9999)}`, `ssn ${int(100, 665)}-${int(10, 99)}-0000`, `ssn ${int(100, 665)}-${int(10, 99)} ${int(1000, 9999)}`, `ssn ${int(100, 665)} ${int(10, 99)}-${int(1000, 9999)}`]));
for (let i = 0; i < 80; i++) neg(`${pick(['number', 'id', 'code', 'see', 'zip', 'pin code'])} ${ssn()}`);
for (let i = 0; i < 80; i++) {
  const isbn = '978' + digits(9);
  let s = 0;
  for (let k = 0; k < 12; k++) s += Number(isbn[k]) * (k % 2 ? 3 : 1);
  const full = isbn + ((10 - (s % 10)) % 10);
  neg(pick([`ISBN ${full}`, `isbn ${full.slice(0, 3)}-${full[3]}-${full.slice(4, 6)}-${full.slice(6, 12)}-${full[12]}`, `book ${full}`]));
}
for (let i = 0; i < 80; i++) neg(pick([`server ${int(1, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`, `ping ${int(1, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}:${int(1024, 65535)}`, `v${int(1, 20)}.${int(0, 99)}.${int(0, 9999)}`, `2001:db8:${int(1, 9999)}::${int(1, 9999)}`]));
for (let i = 0; i < 80; i++) {
  // IMEIs: 15 digits with a Luhn check digit
  neg(`IMEI ${card('35' + digits(6), 15)}`);
}
for (let i = 0; i < 80; i++) neg(pick([`card ${notLuhn('4', 16)}`, `visa ${groupCard(notLuhn('4', 16), ' ')}`, `card ${card('1', 16)}`, `card ${card('9', 16)}`, `card ${card('7', 16)}`, `cc ${'4'.repeat(16)}`, `card ${card('4', 17)}`, `card ${card('51', 15)}`]));
for (let i = 0; i < 80; i++) neg(pick([`price $${int(1000, 999999)}.${digits(2)}`, `${int(1, 999)},${digits(3)},${digits(3)} visitors`, `total ${digits(4)}.${digits(4)}`, `${randomCard()}${pick(['abc', 'x', '/1'])}`, `ID${randomCard()}`, `https://example.com/item/${randomCard()}`, `user${randomCard()}@example.com`]));
for (let i = 0; i < 80; i++) {
  const v = iban();
  neg(pick([`IBAN ${v.slice(0, -1)}${(Number(v.slice(-1)) + int(1, 9)) % 10}`, `IBAN ${v}${digits(1)}`, `IBAN ${v.slice(0, -2)}`, `VAT DE${digits(9)}`, `ref AB12 ${digits(4)} ${digits(4)}`, `flight LH${digits(4)} gate B${int(1, 60)}`, `de${digits(20)}`]));
}
for (let i = 0; i < 80; i++) neg(pick([`${aba()}`, `number ${aba()}`, badAba(), `routing 5${digits(8)}`, `routing 13${digits(7)}`]));
for (let i = 0; i < 60; i++) neg(pick([`${digits(int(8, 17))}`, `order ${digits(int(8, 12))}`, `account ${'7'.repeat(10)}`, `my account is locked`, `${int(10, 99)} accounts, ${digits(10)} rows`]));
// plain chat
for (const t of ['lol see you at 5', 'meeting moved to 14:30 room 4', 'the build 2024.01.15 passed', 'ssn? I will send it later', 'version 4.1.1111.1111', 'call 1-800-555-0199', 'my card was declined', 'room 4111', 'it costs 4111.11 USD', 'we had 4,111,111 hits']) neg(t);

const dir = path.join(__dirname, '..', 'analyzer', 'dlp', 'corpus');
fs.mkdirSync(dir, { recursive: true });
const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\0/g, '\\0');
for (const [name, lines] of Object.entries(out)) {
  const body = ['# expected\ttext   (generated by bench/dlp-gen.ts; fictitious numbers with valid check digits)', ...lines.map(([e, t]) => `${e}\t${esc(t)}`)].join('\n') + '\n';
  fs.writeFileSync(path.join(dir, `${name}.tsv`), body);
  console.log(`${name}.tsv: ${lines.length} lines`);
}
