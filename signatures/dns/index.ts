// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'dns',
  protocols: ['dns'],
  transports: ['udp','tcp'],
  detect: () => null,
};
