// Every protocol module, in the order the engine offers a flow's first bytes to them (first match wins).
// Adding a protocol is adding a folder signatures/<id>/ and one line here.
import type { SignatureModule } from './types';
import { module as oscar } from './oscar';
import { module as icq5 } from './icq5';
import { module as msn } from './msn';
import { module as ymsg } from './ymsg';
import { module as xmpp } from './xmpp';
import { module as irc } from './irc';
import { module as gadugadu } from './gadugadu';
import { module as sip } from './sip';
import { module as dns } from './dns';
import { module as tls } from './tls';
import { module as quic } from './quic';
import { module as http } from './http';
import { module as messengers } from './messengers';
import { module as stun } from './stun';

export const MODULES: SignatureModule[] = [oscar, icq5, msn, ymsg, xmpp, irc, gadugadu, sip, dns, tls, quic, http, messengers, stun];
