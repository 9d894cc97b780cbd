// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'irc',
  protocols: ['irc'],
  transports: ['tcp'],
  detect: () => null,
};
