// User regular expressions that cannot hang the sensor. V8's linear-time engine (flag 'l') runs a
// pattern in time linear in the input, whatever the pattern; it refuses backreferences and
// lookaround. Where that engine is unavailable we fall back to rejecting the shapes that backtrack
// catastrophically (nested or adjacent unbounded quantifiers, backreferences).

export const MAX_PATTERN = 512;

let linear: boolean | undefined;
function linearEngine(): boolean {
  if (linear === undefined) {
    try {
      require('node:v8').setFlagsFromString('--enable-experimental-regexp-engine');
      new RegExp('a', 'l');
      linear = true;
    } catch {
      linear = false;
    }
  }
  return linear;
}

/** Compiles a user pattern (global). Throws an Error whose message is one line saying what is wrong. */
export function compileSafe(pattern: string): RegExp {
  if (typeof pattern !== 'string' || !pattern.length) throw new Error('regular expression is empty');
  if (pattern.length > MAX_PATTERN) throw new Error(`regular expression is longer than ${MAX_PATTERN} characters`);
  let re: RegExp;
  if (linearEngine()) {
    try {
      re = new RegExp(pattern, 'gl');
    } catch (e) {
      const msg = (e as Error).message;
      if (/linear time/.test(msg)) throw new Error('regular expression uses backreferences or lookaround, which cannot run in bounded time; remove them');
      throw new Error(`invalid regular expression: ${msg.replace(/^Invalid regular expression: /, '')}`);
    }
  } else {
    const why = backtrackRisk(pattern);
    if (why) throw new Error(`regular expression is unsafe (${why}); simplify it`);
    try {
      re = new RegExp(pattern, 'g');
    } catch (e) {
      throw new Error(`invalid regular expression: ${(e as Error).message.replace(/^Invalid regular expression: /, '')}`);
    }
  }
  re.lastIndex = 0;
  if (re.test('')) throw new Error('regular expression matches the empty string; it would match every message');
  re.lastIndex = 0;
  return re;
}

/** Heuristic for engines without linear matching: a quantified group that itself contains a quantifier. */
export function backtrackRisk(p: string): string | undefined {
  if (/\\[1-9]|\\k</.test(p)) return 'backreference';
  if (/\(\?<?[=!]/.test(p)) return 'lookaround';
  const stack: boolean[] = [];
  let inner = false;
  for (let i = 0; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (c === '[') {
      while (i < p.length && p[i] !== ']') i += p[i] === '\\' ? 2 : 1;
      continue;
    }
    if (c === '(') {
      stack.push(inner);
      inner = false;
    } else if (c === ')') {
      const had: boolean = inner;
      inner = stack.pop() ?? false;
      const q = p[i + 1];
      if (had && (q === '*' || q === '+' || q === '{')) return 'nested quantifier';
      inner = inner || had;
    } else if (c === '*' || c === '+' || c === '{') inner = true;
  }
  return undefined;
}

/** Lower-cases text without changing its length (so match offsets stay valid for redaction). */
export function lowerSameLength(s: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 65 && c <= 90) continue;
    if (c < 128) continue;
    const l = s[i].toLowerCase();
    if (l.length !== 1) {
      out += s.slice(start, i).toLowerCase() + s[i];
      start = i + 1;
    }
  }
  return start === 0 ? s.toLowerCase() : out + s.slice(start).toLowerCase();
}
