// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'gadugadu',
  protocols: ['gadugadu'],
  transports: ['tcp'],
  detect: () => null,
};
