// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'quic',
  protocols: ['quic'],
  transports: ['udp'],
  detect: () => null,
};
