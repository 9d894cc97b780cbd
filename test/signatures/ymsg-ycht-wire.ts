// Builder for YCHT test traffic (Yahoo chat rooms), by hand from the layout libpurple's ycht.c and
// NO5's YahooChat.cpp write: "YCHT", version u32, service u32, status u16, body length u16, all
// big-endian. The server separates fields with C0 80; a client joins its arguments with 0x01.
export const SVC = { LOGIN: 0x01, LOGOUT: 0x02, JOIN: 0x11, PART: 0x12, SAY: 0x41, THINK: 0x42, EMOTE: 0x43, PM: 0x45, PING: 0x62, FRIENDS: 0x68 } as const;

const C080 = Buffer.from([0xc0, 0x80]);

function join(parts: (string | Buffer)[], sep: Buffer): Buffer {
  const out: Buffer[] = [];
  parts.forEach((p, i) => {
    if (i) out.push(sep);
    out.push(typeof p === 'string' ? Buffer.from(p, 'utf8') : p);
  });
  return Buffer.concat(out);
}

export function packet(service: number, body: Buffer, opts: { version?: number; status?: number } = {}): Buffer {
  const h = Buffer.alloc(16);
  h.write('YCHT', 0, 'latin1');
  h.writeUInt32BE(opts.version ?? 0xae, 4);
  h.writeUInt32BE(service, 8);
  h.writeUInt16BE(opts.status ?? 0, 12);
  h.writeUInt16BE(body.length, 14);
  return Buffer.concat([h, body]);
}

/** what the server sends: fields separated by C0 80 (version 0x100, as libpurple's debug log shows) */
export function server(service: number, fields: (string | Buffer)[], status = 0): Buffer {
  return packet(service, join(fields, C080), { version: 0x100, status });
}

/** what a client sends: its arguments joined by 0x01 (libpurple "room\x01text", NO5 the same) */
export function client(service: number, args: (string | Buffer)[], version = 0xae): Buffer {
  return packet(service, join(args, Buffer.from([1])), { version });
}

/** libpurple's login: "id\x01Y=…; T=…" */
export function login(id: string, y = 'v=1&n=abcdefghijkl&l=xyz/o&p=m2&iz=&r=g4', t = 'z=Hb2TDB&a=QAE&sk=DAAcO4Eq&d=c2wBTWpB'): Buffer {
  return client(SVC.LOGIN, [id, `Y=${y}; T=${t}`]);
}

/** the server's answer to a join: room, topic, cookies, ?, members ("name\x02webcam\x02…" joined by 0x01) */
export function joined(room: string, topic: string, members: string[], own = true): Buffer {
  const list = members.map((m) => `${m}\x020\x02 \x022769036\x0258936\x02`).join('\x01');
  return server(SVC.JOIN, [room, topic, '/c/ad.html?.vc=1&.rmcat=1', '0', list, ...(own ? ['webcam-cookie'] : [])]);
}
