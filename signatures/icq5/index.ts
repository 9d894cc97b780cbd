// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'icq5',
  protocols: ['icq'],
  transports: ['udp'],
  detect: () => null,
};
