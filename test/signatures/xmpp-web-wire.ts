// Builders for XMPP over HTTP test traffic: BOSH (XEP-0124/0206) requests and responses with
// Content-Length or chunked bodies, and RFC 6455 WebSocket frames (masked for the client) carrying
// RFC 7395 XMPP, compressed with permessage-deflate (RFC 7692) or, for BOSH, gzip/deflate
// Content-Encoding. Used by xmpp-web.test.ts.
import zlib from 'node:zlib';

export const HTTPBIND = 'http://jabber.org/protocol/httpbind';

export function boshWrap(attrs: string, inner = ''): string {
  return inner ? `<body ${attrs} xmlns='${HTTPBIND}'>${inner}</body>` : `<body ${attrs} xmlns='${HTTPBIND}'/>`;
}

function chunked(body: Buffer, size: number, ext = ''): Buffer {
  const parts: Buffer[] = [];
  for (let o = 0; o < body.length; o += size) {
    const c = body.subarray(o, o + size);
    parts.push(Buffer.from(c.length.toString(16) + ext + '\r\n'), c, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

export interface BodyOpts {
  /** chunk size: Transfer-Encoding chunked instead of Content-Length */
  chunk?: number;
  /** chunk extension written after every chunk size */
  ext?: string;
  contentType?: string;
  headers?: Record<string, string>;
  /** compress the body and say so in Content-Encoding; deflate-raw is raw DEFLATE labelled deflate */
  encode?: 'gzip' | 'x-gzip' | 'deflate' | 'deflate-raw';
}

function encoded(body: string, o: BodyOpts): Buffer {
  const b = Buffer.from(body);
  if (!o.encode) return b;
  o.headers = { ...o.headers, 'Content-Encoding': o.encode === 'deflate-raw' ? 'deflate' : o.encode };
  return o.encode === 'deflate' ? zlib.deflateSync(b) : o.encode === 'deflate-raw' ? zlib.deflateRawSync(b) : zlib.gzipSync(b);
}

export function boshPost(body: string, o: BodyOpts = {}, path = '/http-bind', host = 'xmpp.example.org'): Buffer {
  o = { ...o };
  const b = encoded(body, o);
  const h = [`POST ${path} HTTP/1.1`, `Host: ${host}`, 'User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/115.0', `Content-Type: ${o.contentType ?? 'text/xml; charset=utf-8'}`];
  for (const [k, v] of Object.entries(o.headers ?? {})) h.push(`${k}: ${v}`);
  if (o.chunk) return Buffer.concat([Buffer.from(h.concat('Transfer-Encoding: chunked').join('\r\n') + '\r\n\r\n'), chunked(b, o.chunk, o.ext)]);
  h.push(`Content-Length: ${b.length}`);
  return Buffer.concat([Buffer.from(h.join('\r\n') + '\r\n\r\n'), b]);
}

export function boshReply(body: string, o: BodyOpts = {}): Buffer {
  o = { ...o };
  const b = encoded(body, o);
  const h = ['HTTP/1.1 200 OK', `Content-Type: ${o.contentType ?? 'text/xml; charset=utf-8'}`, 'Access-Control-Allow-Origin: *'];
  for (const [k, v] of Object.entries(o.headers ?? {})) h.push(`${k}: ${v}`);
  if (o.chunk) return Buffer.concat([Buffer.from(h.concat('Transfer-Encoding: chunked').join('\r\n') + '\r\n\r\n'), chunked(b, o.chunk, o.ext)]);
  h.push(`Content-Length: ${b.length}`);
  return Buffer.concat([Buffer.from(h.join('\r\n') + '\r\n\r\n'), b]);
}

export function preflight(path = '/http-bind'): Buffer {
  return Buffer.from(`OPTIONS ${path} HTTP/1.1\r\nHost: xmpp.example.org\r\nOrigin: https://chat.example.org\r\nAccess-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: content-type\r\n\r\n`);
}

export function preflightReply(): Buffer {
  return Buffer.from('HTTP/1.1 200 OK\r\nAccess-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: GET, POST, OPTIONS\r\nAccess-Control-Allow-Headers: Content-Type\r\nContent-Length: 0\r\n\r\n');
}

export function wsUpgrade(protocol = 'xmpp', path = '/xmpp-websocket', extensions?: string): Buffer {
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: xmpp.example.org\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${protocol}\r\nOrigin: https://chat.example.org\r\n` +
      (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') + '\r\n',
  );
}

export function wsAccept(protocol: string | null = 'xmpp', extensions?: string): Buffer {
  return Buffer.from(
    'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
      (protocol ? `Sec-WebSocket-Protocol: ${protocol}\r\n` : '') + (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : '') + '\r\n',
  );
}

export interface FrameOpts {
  fin?: boolean;
  /** 1 text, 2 binary, 0 continuation, 8 close, 9 ping, 10 pong */
  opcode?: number;
  /** client frames are masked (RFC 6455 §5.3) */
  mask?: Buffer | null;
  rsv?: number;
}

/** one WebSocket frame; a client frame gets a mask */
export function wsFrame(payload: Buffer | string, o: FrameOpts = {}): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const fin = o.fin ?? true;
  const opcode = o.opcode ?? 1;
  const mask = o.mask ?? null;
  const h: number[] = [(fin ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | opcode];
  const m = mask ? 0x80 : 0;
  if (p.length < 126) h.push(m | p.length);
  else if (p.length < 65536) h.push(m | 126, p.length >> 8, p.length & 255);
  else {
    h.push(m | 127);
    const l = Buffer.alloc(8);
    l.writeBigUInt64BE(BigInt(p.length));
    h.push(...l);
  }
  if (!mask) return Buffer.concat([Buffer.from(h), p]);
  const x = Buffer.alloc(p.length);
  for (let i = 0; i < p.length; i++) x[i] = p[i] ^ mask[i & 3];
  return Buffer.concat([Buffer.from(h), mask, x]);
}

let maskSeed = 7;
/** a client frame: masked with a fresh key */
export function clientFrame(payload: Buffer | string, o: FrameOpts = {}): Buffer {
  const mask = Buffer.alloc(4);
  for (let i = 0; i < 4; i++) mask[i] = (maskSeed = (maskSeed * 1103515245 + 12345) & 0x7fffffff) & 255;
  return wsFrame(payload, { ...o, mask });
}

export const sasl = (user: string, secret: string) => Buffer.from(`\0${user}\0${secret}`).toString('base64');

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * The sending end of permessage-deflate for one direction, as RFC 7692 §7.2.1 has it: each message is
 * compressed and flushed with Z_SYNC_FLUSH, and the 00 00 ff ff the flush ends with is removed. With
 * context takeover one Node deflateRaw stream goes on across messages (later messages refer back into
 * earlier ones); without, each message is compressed on its own.
 */
export class PmdDeflater {
  private stream: zlib.DeflateRaw | null = null;

  constructor(private readonly o: { takeover?: boolean; windowBits?: number } = {}) {}

  async compress(text: string | Buffer): Promise<Buffer> {
    const b = typeof text === 'string' ? Buffer.from(text) : text;
    const s = (this.stream ??= zlib.createDeflateRaw({ windowBits: this.o.windowBits ?? 15 }));
    const out: Buffer[] = [];
    const on = (d: Buffer) => out.push(d);
    s.on('data', on);
    s.write(b);
    await new Promise<void>((r) => s.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    s.off('data', on);
    if (this.o.takeover === false) {
      s.close();
      this.stream = null;
    }
    const c = Buffer.concat(out);
    if (!c.subarray(-4).equals(TAIL)) throw new Error('a sync flush ends with 00 00 ff ff');
    return c.subarray(0, -4);
  }
}

/**
 * Two XMPP-over-WebSocket sessions between the `ws` library (8.23.0, npm) as client and as server,
 * recorded on loopback through a TCP proxy: the bytes of each direction as they arrived, handshake
 * included. Both offer and accept permessage-deflate with threshold 0 (every message compressed).
 * WS_LIB_TAKEOVER: "permessage-deflate; server_max_window_bits=15", context takeover both ways.
 * WS_LIB_NO_CONTEXT: "server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10".
 * The client opens, authenticates with SASL PLAIN (juliet, W5-S3cret-pw), binds, sends a message in
 * three fragments (ws sets RSV1 on the first only) and one whole; the server answers the first with
 * two messages. Messages: see WS_LIB_EXPECTED.
 */
export const WS_LIB_TAKEOVER: ['c' | 's', string][] = [
  ['c', '474554202f786d70702d776562736f636b657420485454502f312e310d0a486f73743a20786d70702e6578616d706c652e6f72670d0a5365632d576562536f636b65742d56657273696f6e3a2031330d0a5365632d576562536f636b65742d4b65793a204c784d5a5a77436e765a316b6d7755545556496151773d3d0d0a436f6e6e656374696f6e3a20557067726164650d0a557067726164653a20776562736f636b65740d0a5365632d576562536f636b65742d457874656e73696f6e733a207065726d6573736167652d6465666c6174653b20636c69656e745f6d61785f77696e646f775f626974730d0a5365632d576562536f636b65742d50726f746f636f6c3a20786d70700d0a0d0a'],
  ['s', '485454502f312e312031303120537769746368696e672050726f746f636f6c730d0a557067726164653a20776562736f636b65740d0a436f6e6e656374696f6e3a20557067726164650d0a5365632d576562536f636b65742d4163636570743a206165464c394a45396a436d6d55644f764d75585a2b2f6250324f6b3d0d0a5365632d576562536f636b65742d50726f746f636f6c3a20786d70700d0a5365632d576562536f636b65742d457874656e73696f6e733a207065726d6573736167652d6465666c6174653b207365727665725f6d61785f77696e646f775f626974733d31350d0a0d0a'],
  ['c', 'c1cc632c5de677e96ce8e30c51e6a383ed9371593022dc587562e7bafb4682d59bbd8dc69bfcf51840ef7d7bf1da5036642fa3095013ac4096a831991d7e5e2d72f40830e6f16b03a64e3e3fc117e3d1a3e6'],
  ['s', 'c15e14cc310ec3200c05d0abb0fd2949b35a75ef62a9062161834cda72fc2ad3dbdeb30ff5b4acf9647cc2a9ea956948884d5ad6c86fc6d87288552f4839ba3174898da67b8f8254df8cdfdc4ea4afc6acdd19e7fec0dd52132f0c751caf3f00'],
  ['s', 'c15cb2292e294a4dccb54a4b4d2c292d4a2d86586b0511b555cf282929b0d2d74f2dc9482daad0cb4a4c4a4a2d0299af0f5150ac6e67939b9a9c919897599c5b4c8c938b138b739035d905f8387afad9e8230490d8c57636fa68eeb30300'],
  ['c', 'c1c3d2d311ff609a3dd21bf3d73b3017f3e3a756cd2b365fd5431e314da427d30eb89dec64c49524133cf6248d63c694b6f76db3d2ef8df0ae357a5bd16db65c75a4c9ae8116a4d311'],
  ['s', 'c10eb2292e4d4e4e2d26de327d3b0000'],
  ['c', 'c186dd87f09b6f264a30dc87'],
  ['s', 'c106b2a163780200'],
  ['s', 'c112a23c3c9332f35288712c489dba3e96100200'],
  ['c', 'c1cef346a3c2418f8f963b0a1297bc74f795dbef8f8a46138c8cde17249b62d33b56671cc7576fd53a58a4e4cda560d23a55b1ca56e286acd5f4b6ef663b56036a6b85a366f409362d4fcd0e790cb5791012fd46'],
  ['s', 'c146b2c92c04bb36c9505da1a4b220d556bd28b5b834a7441d662ac45aabe49cccd4bc12526db4b3c9ca4cb1cb2acdc94c2d71400a21fdf2621b7d90948d3e489d9d8d7e66a11d00'],
  ['c', '41ae30a37066826a3d4b1eed3c293518c34e0f9445b93145aa5aa09850287a6d384a61a44bd5ecb3c7bdc2f05a8b30a37066cf5c'],
  ['c', '00a56ec5fd2c9c92f52e7767fe8d7ad0371f3c4eafff9c4eaf397c4eb73824f70f674ff70b2c6ec5fdd391'],
  ['c', '808bc42d040c76fc03a773fc8336042304'],
  ['s', 'c1687c92cb09803010445b194f5e041bf073b191c5ac2690b8b05914bb17453d8905bc61de304de29c69e67b5095c4f2420b5b2d3a7a5257c2a42d3f431f87d1d38f81b8bd1b8243dae199d41065655888118b6c3d26d1bc31298255c861f65634f5459d77bb3a760700'],
  ['s', 'c12ea2ab63ddf28b143c15f252d5538b148a13cb154a8a4a53159252134b4b2a21ce2ec9c82c56c803b9540fc3a50000'],
  ['c', 'c1aa9152da52b38bff14690f38c00b057302030373c2070a48c3cbf64aca06f08ac60b0480ce9b4417195d1f1f229252'],
  ['c', 'c18dd2e8c0da60a10e13fda6e5ffac1d2ddad2'],
  ['s', 'c10db249cec92f4e252545ebdb0100'],
  ['s', '880203e8'],
  ['c', '88823a383d3639d0'],
];

export const WS_LIB_NO_CONTEXT: ['c' | 's', string][] = [
  ['c', '474554202f786d70702d776562736f636b657420485454502f312e310d0a486f73743a20786d70702e6578616d706c652e6f72670d0a5365632d576562536f636b65742d56657273696f6e3a2031330d0a5365632d576562536f636b65742d4b65793a20356f5a4b444a746c743345707061574c524f517135673d3d0d0a436f6e6e656374696f6e3a20557067726164650d0a557067726164653a20776562736f636b65740d0a5365632d576562536f636b65742d457874656e73696f6e733a207065726d6573736167652d6465666c6174653b20636c69656e745f6d61785f77696e646f775f626974730d0a5365632d576562536f636b65742d50726f746f636f6c3a20786d70700d0a0d0a'],
  ['s', '485454502f312e312031303120537769746368696e672050726f746f636f6c730d0a557067726164653a20776562736f636b65740d0a436f6e6e656374696f6e3a20557067726164650d0a5365632d576562536f636b65742d4163636570743a2072526c49386b43415448784a484d6648766553675a6f7a624d674d3d0d0a5365632d576562536f636b65742d50726f746f636f6c3a20786d70700d0a5365632d576562536f636b65742d457874656e73696f6e733a207065726d6573736167652d6465666c6174653b207365727665725f6e6f5f636f6e746578745f74616b656f7665723b20636c69656e745f6e6f5f636f6e746578745f74616b656f7665723b207365727665725f6d61785f77696e646f775f626974733d31300d0a0d0a'],
  ['c', 'c1cc1bd971250f1c402b9bf97d25db76c15009ac1ce1a4ad59a19f4fd785fa20b77ef533b73f8ded6c2c058edd1928c348ecdbfc7cd0d4b5ba6b496c31bd26d85e3770c5ca3213f68a8d46caedd49b248f25'],
  ['s', 'c15e14cc310ec3200c05d0abb0fd2949b35a75ef62a9062161834cda72fc2ad3dbdeb30ff5b4acf9647cc2a9ea956948884d5ad6c86fc6d87288552f4839ba3174898da67b8f8254df8cdfdc4ea4afc6acdd19e7fec0dd52132f0c751caf3f00'],
  ['s', 'c1765c8ec10a02310c447fc55b4f6eeea15bf02888f80b59c9da95a696240bfd7c91155c3ccdf0980713cd95497066f255d90e5d4a35dce818b27b4300f6ccda87274d13ebf0d2076c030b290adf33d5c5e4eb8e61d58a0bfb8c8d94c4b04bc1fa89d68e4656f652ba5d4ee76b841fd8754b11fefea53700'],
  ['c', 'c1e26bc313bfd98a3f92a293bb77a60a38093eec3e75d8095f92227039f74789df92dd69db72da0910ee6ec6a97ae2062a55617aba76724a6a26ae7aa5556afd9d211529653185c695f685fa2a96e58d02c1aa4532012dbd86ee7a423676750aa58991e3c0526bc3'],
  ['s', 'c133b2292e4d4e4e2d2e56a8c8cdc92bb6552f2dcab3ca4c2d49b32a482c4acc2db6aac8cdb1ca03510505bac589c539eafa760000'],
  ['c', 'c1ccdef14063ca34716d5ed14c631e5ef016cc842da7618568e75a67e6c33f088638301b867948c55d6ac0a6ec5fedeb79aa1ed44d96119d8b2d8c4400fbe3f06f71b5edfb74d6debbcb83e2dc925e0cbe63'],
  ['s', 'c15e14cc310ec3200c05d0abb0fd2949b35a75ef62a9062161834cda72fc2ad3dbdeb30ff5b4acf9647cc2a9ea956948884d5ad6c86fc6d87288552f4839ba3174898da67b8f8254df8cdfdc4ea4afc6acdd19e7fec0dd52132f0c751caf3f00'],
  ['s', 'c1605c8d4b0ac0200c05afd29dab36fb60bd4ba4b11faa952482c72fc55d57038f798c5713a68c89c99ab04e3ddf4571acab3bcc2a02b01d2c7db9284696e5911d86a02ef878966dbc56d7a4e0c996b0925056ecf9c6f2a1d6f9f31c040fbf627801'],
  ['c', 'c1e406c426793a4e1777c5e42a79b906c0d04499b78859e4575c512434e2ae2dc95280b21ce4e894a8597d425cfe36fba54a3e8b2e2e692e3fe7a39290cd33a5bb395e81d1263d89b5897a6077d5728b71164fd3e0c1abcb2ef4fbb1fcbff2b2aa06c77c141892479879'],
  ['s', 'c16f34ca3d0e02211040e1abd04de5125b3210af02326e860cc8f213f1f686c2ea15df43be14470be10e6a7c2b5968d4a70c502b4be916920f819a790a5319e03070897f9bad18a6f132d5379fbb59594cd9a9f5b63f709838ba3485693c68f95c858e773bf5a7a3de847a7f0e355fee07'],
  ['c', '41d0474dae41438ce34bc76dbe4797e616da1a9d985dae67503dd3ec20a9073b559ff458ddbb4c0b2b280fc83219f9bb2cec068446968659c1ee233fcc3b307f05d771d4b05e458bbf0a011edc770fb7724e474d51be'],
  ['c', '00a55e51e19eac06e99c47f3e23f4a442bad0cdab34dacdab38b4cdaab8a146313d57f63179e5e51e161a1'],
  ['c', '808bed8a3c805f5b3b2b5a5bbbba2d843c'],
  ['s', 'c17e00873ccec10e82300c80e157a9a75e8cbb9b0d3df822030a1be956d21581b73731c6f39f2ff97da1d6e24c30a994802a85e449472c2bd3ad9239d121451d114c022e1b67b27f179dddde10ec5c29e090a2211c856b0bb8c4be27bd0f9ca91a76be97f1ec5e79847242a2a8062c6f02cbcc50657fc024da768a0ad9aed0f29cece2dd5779f77bec3e00'],
  ['s', 'c17e00833ccec10a83300c80e157c92d377b1fadec34d863a49ad94adb481a51df5e1863e79f0f7e5fb9775a183e2a35a04a6579f249752b3c3436273a25d219c124e0ba97ccf6efa28b3b3a825d1b079c1219c2594beb01578a91f53195cccd70f451e66b7c89c21b1a232b743ac07467884cbb5d60b914b0943bb4bc241bbcfb12ef7e83e30d'],
  ['c', 'c1ee3699ec681a54ad62f5b9fc2ed7322006409498316223042df07da325e7a804fcf042eb2a8116e3f61d71b1b6163272331b31a374646f60f3f4018084c6a5cb5990f41d948daaf14d5d6e10f92e48f21be8392aa9f3236098b4975e5c5e8ca7001223bcabcc7454c27c187746df3f1352aa99'],
  ['c', 'c1b4a498ef9f16d121568bd6ba376c5526b412cdc0b26e2b25d389d15cb5ecb4a553892e45576929259cf59dea25cddd66263de106755eeeef9f'],
  ['s', 'c134b249cec92f4e55a8c8cdc92bb6552f2dcab3ca4c2d49b32a482c4acc2db6aac8cdb1ca03510505ba694589b99979e9eafa760000'],
  ['s', '880203e8'],
  ['c', '888234ac81653744'],
];

export const WS_LIB_SECRET = 'W5-S3cret-pw';
export const WS_LIB_EXPECTED = [
  ['juliet@example.org/ws', 'romeo@example.net', 'O Romeo, Romeo! wherefore art thou Romeo?', 'outbound'],
  ['romeo@example.net/orchard', 'juliet@example.org/ws', 'Did my heart love till now? forswear it, sight!', 'inbound'],
  ['romeo@example.net/orchard', 'juliet@example.org/ws', "For I ne'er saw true beauty till this night.", 'inbound'],
  ['juliet@example.org/ws', 'romeo@example.net', 'Deny thy father and refuse thy name', 'outbound'],
];
