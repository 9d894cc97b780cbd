// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'tls',
  protocols: ['tls'],
  transports: ['tcp'],
  detect: () => null,
};
