// STUB: replaced by the real module.
import type { SignatureModule } from '../types';

export const module: SignatureModule = {
  id: 'messengers',
  protocols: ['whatsapp'],
  transports: ['tcp','udp'],
  detect: () => null,
};
