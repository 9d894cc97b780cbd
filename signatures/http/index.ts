// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'http',
  protocols: ['http'],
  transports: ['tcp'],
  detect: () => null,
};
