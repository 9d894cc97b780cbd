// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'sip',
  protocols: ['sip'],
  transports: ['tcp','udp'],
  detect: () => null,
};
