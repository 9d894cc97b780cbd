// Today's messengers recognised by their own bytes (WhatsApp Noise prologue, Telegram MTProto
// markers and relays, Discord voice, Threema handshake, Viber and QQ UDP). Their host names and
// address ranges (data.yaml) are used by the tls/quic/http/dns modules and the engine.
import type { DetectInput, DetectResult, SignatureData, SignatureModule } from '../types';
import { RECOGNISERS_BY_TRANSPORT } from './patterns';

function detect(input: DetectInput, data: SignatureData): DetectResult {
  let more = false;
  for (const r of RECOGNISERS_BY_TRANSPORT[input.transport] ?? []) {
    const res = r(input, data);
    if (res === 'more') more = true;
    else if (res) return res;
  }
  return more ? 'more' : null;
}

export const module: SignatureModule = {
  id: 'messengers',
  protocols: ['whatsapp', 'telegram', 'signal', 'discord', 'slack', 'teams', 'skype', 'googlechat', 'line', 'viber', 'threema', 'wechat', 'qq', 'kakaotalk', 'snapchat', 'imo', 'dingtalk', 'matrix', 'mattermost', 'zulip', 'rocketchat', 'messenger'],
  transports: ['tcp', 'udp'],
  detect,
};
