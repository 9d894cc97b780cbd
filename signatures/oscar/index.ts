// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'oscar',
  protocols: ['aim','icq'],
  transports: ['tcp'],
  detect: () => null,
};
