// Check-digit and number-plan validators (pure functions on ASCII digit/alnum strings).
import { cardIssuers, ibanLengths } from './data';

export function luhn(digits: string): boolean {
  let sum = 0;
  let dbl = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 === 0;
}

/** The card network whose issuer range and length fit, or undefined. */
export function cardNetwork(digits: string): string | undefined {
  const { issuers } = cardIssuers();
  let best: string | undefined;
  let bestWidth = 0;
  for (const rule of issuers) {
    if (!rule.lengths.has(digits.length)) continue;
    for (const [w, lo, hi] of rule.ranges) {
      if (w <= bestWidth) break; // ranges are sorted longest first
      const p = Number(digits.slice(0, w));
      if (p >= lo && p <= hi) {
        best = rule.name;
        bestWidth = w;
        break;
      }
    }
  }
  return best;
}

export function allSame(digits: string): boolean {
  for (let i = 1; i < digits.length; i++) if (digits[i] !== digits[0]) return false;
  return true;
}

export function isTestCard(digits: string): boolean {
  return cardIssuers().testNumbers.has(digits);
}

/** A payment card number: 13–19 digits, not all the same, issuer range + length, Luhn. */
export function validCard(digits: string): string | undefined {
  if (digits.length < 13 || digits.length > 19 || allSame(digits)) return undefined;
  const net = cardNetwork(digits);
  if (!net || !luhn(digits)) return undefined;
  return net;
}

// Numbers the SSA never issued or that were published as examples (wallet inserts, ads, docs).
const SSN_SAMPLES = new Set(['078051120', '219099999', '123456789', '111223333', '001010001']);

/** US SSN rules: area 001–899 except 666, group 01–99, serial 0001–9999, no published samples. */
export function validSsn(d: string): boolean {
  if (d.length !== 9) return false;
  const area = Number(d.slice(0, 3));
  const group = Number(d.slice(3, 5));
  const serial = Number(d.slice(5));
  if (area === 0 || area === 666 || area >= 900) return false;
  if (group === 0 || serial === 0) return false;
  if (allSame(d) || SSN_SAMPLES.has(d)) return false;
  return true;
}

/** ABA routing transit number: valid Federal Reserve prefix and the 3-7-1 checksum. */
export function validAba(d: string): boolean {
  if (d.length !== 9 || allSame(d)) return false;
  const p = Number(d.slice(0, 2));
  // 00 US government, 01–12 Federal Reserve districts, 21–32 thrifts, 61–72 electronic, 80 travellers' cheques
  if (!(p <= 12 || (p >= 21 && p <= 32) || (p >= 61 && p <= 72) || p === 80)) return false;
  const w = [3, 7, 1];
  let s = 0;
  for (let i = 0; i < 9; i++) s += (d.charCodeAt(i) - 48) * w[i % 3];
  return s % 10 === 0;
}

/** IBAN: known country, exact length, ISO 7064 mod-97 = 1. `s` is upper-case alphanumerics. */
export function validIban(s: string): boolean {
  const len = ibanLengths().get(s.slice(0, 2));
  if (!len || s.length !== len) return false;
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]+$/.test(s)) return false;
  const cd = Number(s.slice(2, 4));
  if (cd < 2 || cd > 98) return false;
  const r = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < r.length; i++) {
    const c = r.charCodeAt(i);
    const v = c >= 65 ? c - 55 : c - 48;
    rem = v >= 10 ? (rem * 100 + v) % 97 : (rem * 10 + v) % 97;
  }
  return rem === 1;
}

/** epoch seconds of 2010-01-01 and 2040-01-01: a 10-digit (or 13-digit, milliseconds) number between is read as a time */
const EPOCH_FROM = 1262304000;
const EPOCH_TO = 2208988800;

/**
 * Is a run of digits a time rather than an account number: YYYYMMDD, YYYYMMDDhhmm or YYYYMMDDhhmmss
 * (1900–2099, a real day), or Unix seconds or milliseconds of 2010–2039? Logs pasted into chat are
 * full of them ("account created on 20240115", "account locked, see 1705311000").
 */
export function looksLikeTime(d: string): boolean {
  if (d.length === 10 || d.length === 13) {
    const s = Number(d.length === 13 ? d.slice(0, 10) : d);
    if (s >= EPOCH_FROM && s < EPOCH_TO) return true;
  }
  if (d.length !== 8 && d.length !== 12 && d.length !== 14) return false;
  const y = Number(d.slice(0, 4));
  const mo = Number(d.slice(4, 6));
  const day = Number(d.slice(6, 8));
  if (y < 1900 || y > 2099 || mo < 1 || mo > 12 || day < 1 || day > new Date(Date.UTC(y, mo, 0)).getUTCDate()) return false;
  if (d.length >= 12 && (Number(d.slice(8, 10)) > 23 || Number(d.slice(10, 12)) > 59)) return false;
  if (d.length === 14 && Number(d.slice(12, 14)) > 59) return false;
  return true;
}
