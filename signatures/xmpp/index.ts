// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'xmpp',
  protocols: ['xmpp'],
  transports: ['tcp'],
  detect: () => null,
};
