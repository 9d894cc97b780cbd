// XMPP (Jabber): detection (detect.ts), bounded XML reader (xml.ts), session decoding (decoder.ts);
// XMPP in cleartext HTTP, BOSH and WebSocket (http.ts, ../http/stream.ts, websocket.ts).
import { declineOnThrow, type SignatureModule } from '../types';
import { detectXmpp } from './detect';
import { XmppDecoder } from './decoder';
import { SIG_BOSH, SIG_WEBSOCKET, XmppHttpDecoder, detectXmppHttp } from './http';

export const module: SignatureModule = {
  id: 'xmpp',
  protocols: ['xmpp'],
  transports: ['tcp'],
  // BOSH / WebSocket first: an HTTP head is never a plain XMPP stream
  detect: declineOnThrow((input) => detectXmppHttp(input) ?? detectXmpp(input)),
  decoder: (ctx, detection) => {
    ctx.setService('chat');
    const sig = detection.evidence.signature;
    if (sig === SIG_BOSH || sig === SIG_WEBSOCKET) return new XmppHttpDecoder(ctx);
    return new XmppDecoder(ctx);
  },
};
