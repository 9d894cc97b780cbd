// Readers of the SIEM formats, written from the specs (not from outputs/sinks/formats.ts), for the
// sink tests to parse what the product sends: CEF (ArcSight CEF standard), LEEF 2.0 (QRadar DSM
// guide) and RFC 5424 syslog. Each throws on what its spec does not allow, so a value that escapes
// its field fails the test instead of being read some lenient way.

/** the 7 header fields of a CEF line, unescaped (a backslash in the header starts \| or \\ only), and the extension */
export function cefSplit(line: string): { header: string[]; extension: string } {
  const header: string[] = [];
  let rest = line;
  for (let i = 0; i < 7; i++) {
    const m = rest.match(/^((?:[^|\\]|\\[|\\])*)\|/);
    if (!m) throw new Error(`CEF header field ${i} does not end in an unescaped | (or holds a stray backslash)`);
    header.push(m[1].replace(/\\([|\\])/g, '$1'));
    rest = rest.slice(m[0].length);
  }
  return { header, extension: rest };
}

/** the 7 header fields of a CEF line, unescaped */
export function cefHeader(line: string): string[] {
  return cefSplit(line).header;
}

/** CEF extension key=value pairs; throws on a backslash that starts no escape the spec defines, an unescaped = or a key twice. */
export function cefExtension(line: string): Record<string, string> {
  return cefPairs(cefSplit(line).extension);
}

function cefPairs(rest: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (rest === '') return out;
  const keyAt = (i: number) => /^ ([A-Za-z0-9_]+)=/.exec(rest.slice(i, i + 80));
  const first = /^([A-Za-z0-9_]+)=/.exec(rest);
  if (!first) throw new Error(`CEF extension does not start with key=: ${JSON.stringify(rest.slice(0, 40))}`);
  let key = first[1];
  let val = '';
  const put = () => {
    if (key in out) throw new Error(`CEF key ${key} twice`);
    out[key] = val;
  };
  for (let i = first[0].length; i < rest.length; i++) {
    const c = rest[i];
    if (c === '\\') {
      const n = rest[i + 1];
      if (!n || !'\\=nr'.includes(n)) throw new Error(`stray backslash before ${JSON.stringify(n)} in ${key} at ${i}`);
      val += n === 'n' ? '\n' : n === 'r' ? '\r' : n;
      i++;
      continue;
    }
    const m = c === ' ' ? keyAt(i) : null;
    if (m) {
      put();
      key = m[1];
      val = '';
      i += m[0].length - 1;
      continue;
    }
    if (c === '=') throw new Error(`unescaped = in ${key} at ${i}`);
    val += c;
  }
  put();
  return out;
}

/** LEEF 2.0: the 6 header fields (LEEF:2.0, vendor, product, version, event id, delimiter) and the attributes */
export function leefParse(line: string): { header: string[]; attrs: Record<string, string> } {
  const header: string[] = [];
  let rest = line;
  for (let i = 0; i < 6; i++) {
    const bar = rest.indexOf('|');
    if (bar < 0) throw new Error(`LEEF header has ${i} fields, not 6`);
    header.push(rest.slice(0, bar));
    rest = rest.slice(bar + 1);
  }
  if (header[0] !== 'LEEF:2.0') throw new Error(`not LEEF 2.0: ${header[0]}`);
  // the delimiter: one character, or its code as 0xHH / xHH
  const d = header[5];
  const hex = /^0?x([0-9a-fA-F]{2,4})$/.exec(d);
  const delim = hex ? String.fromCharCode(parseInt(hex[1], 16)) : d;
  if ([...delim].length !== 1) throw new Error(`LEEF delimiter ${JSON.stringify(d)} is not one character`);
  const attrs: Record<string, string> = {};
  for (const kv of rest.split(delim)) {
    const eq = kv.indexOf('=');
    if (eq <= 0 || !/^[A-Za-z0-9_]+$/.test(kv.slice(0, eq))) throw new Error(`LEEF attribute without key=: ${JSON.stringify(kv.slice(0, 40))}`);
    const k = kv.slice(0, eq);
    if (k in attrs) throw new Error(`LEEF key ${k} twice`);
    attrs[k] = kv.slice(eq + 1);
  }
  return { header, attrs };
}

export interface Syslog5424 {
  pri: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  sd: { id: string; params: Record<string, string> }[];
  /** MSG without its BOM; undefined when there is none */
  msg?: string;
  bom: boolean;
}

/**
 * One RFC 5424 message (no transport framing). Header fields are printable US-ASCII within their
 * lengths; PARAM-VALUE must escape '"', '\' and ']' (a backslash before another character is a
 * backslash, RFC 5424 6.3.3); PARAM-NAME and SD-ID are 1-32 printable characters but '=', ' ', ']', '"'.
 */
export function parse5424(line: string): Syslog5424 {
  const h = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) /.exec(line);
  if (!h) throw new Error(`no RFC 5424 header: ${JSON.stringify(line.slice(0, 80))}`);
  const pri = Number(h[1]);
  if (pri > 191) throw new Error(`PRI ${pri} > 191`);
  const limits = [0, 0, 0, 255, 48, 128, 32];
  for (let i = 2; i <= 6; i++) {
    if (!/^[\x21-\x7e]+$/.test(h[i])) throw new Error(`header field ${i} is not printable US-ASCII`);
    if (i >= 3 && h[i].length > limits[i]) throw new Error(`header field ${i} longer than ${limits[i]}`);
  }
  let i = h[0].length;
  const sd: Syslog5424['sd'] = [];
  const NAME = /^[^= \]"\x00-\x20\x7f-\uffff]{1,32}/;
  if (line[i] === '-') i++;
  else {
    while (line[i] === '[') {
      i++;
      const id = NAME.exec(line.slice(i, i + 33));
      if (!id) throw new Error(`bad SD-ID at ${i}`);
      i += id[0].length;
      const params: Record<string, string> = {};
      while (line[i] === ' ') {
        i++;
        const name = NAME.exec(line.slice(i, i + 33));
        if (!name || line[i + name[0].length] !== '=' || line[i + name[0].length + 1] !== '"') throw new Error(`bad SD-PARAM at ${i}`);
        i += name[0].length + 2;
        let v = '';
        for (;;) {
          if (i >= line.length) throw new Error(`PARAM-VALUE of ${name[0]} never ends`);
          const c = line[i];
          if (c === '\\' && '"\\]'.includes(line[i + 1] ?? '')) {
            v += line[i + 1];
            i += 2;
          } else if (c === '"') {
            i++;
            break;
          } else if (c === ']') throw new Error(`unescaped ] in PARAM-VALUE of ${name[0]}`);
          else {
            v += c;
            i++;
          }
        }
        if (name[0] in params) throw new Error(`SD-PARAM ${name[0]} twice`);
        params[name[0]] = v;
      }
      if (line[i] !== ']') throw new Error(`SD-ELEMENT ${id[0]} not closed at ${i}`);
      i++;
      sd.push({ id: id[0], params });
    }
    if (!sd.length) throw new Error('no STRUCTURED-DATA');
  }
  const out: Syslog5424 = { pri, timestamp: h[2], hostname: h[3], appName: h[4], procId: h[5], msgId: h[6], sd, bom: false };
  if (i === line.length) return out;
  if (line[i] !== ' ') throw new Error(`no SP between STRUCTURED-DATA and MSG at ${i}`);
  const msg = line.slice(i + 1);
  out.bom = msg.startsWith('\ufeff');
  out.msg = out.bom ? msg.slice(1) : msg;
  return out;
}
