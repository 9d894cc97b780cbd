// IRC: detection (detect.ts), session decoding (decoder.ts), DCC side connections (dcc.ts).
import { declineOnThrow, type SignatureModule } from '../types';
import { detectIrc } from './detect';
import { IrcDecoder } from './decoder';

export const module: SignatureModule = {
  id: 'irc',
  protocols: ['irc'],
  transports: ['tcp'],
  detect: declineOnThrow(detectIrc),
  decoder: (ctx) => {
    ctx.setService('chat');
    return new IrcDecoder(ctx);
  },
};
