// XMPP (Jabber): detection (detect.ts), bounded XML reader (xml.ts), session decoding (decoder.ts).
import type { SignatureModule } from '../types';
import { detectXmpp } from './detect';
import { XmppDecoder } from './decoder';

export const module: SignatureModule = {
  id: 'xmpp',
  protocols: ['xmpp'],
  transports: ['tcp'],
  detect: (input) => {
    try {
      return detectXmpp(input);
    } catch {
      return null;
    }
  },
  decoder: (ctx) => {
    ctx.setService('chat');
    return new XmppDecoder(ctx);
  },
};
