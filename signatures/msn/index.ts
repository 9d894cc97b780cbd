// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'msn',
  protocols: ['msn'],
  transports: ['tcp'],
  detect: () => null,
};
