// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'ymsg',
  protocols: ['yahoo'],
  transports: ['tcp'],
  detect: () => null,
};
