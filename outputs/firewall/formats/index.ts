import { ciscoAsa, ciscoIos } from './cisco';
import { dnsRpz, dnsUnbound } from './dns';
import { ip6tables, iptables } from './iptables';
import { nftables } from './nftables';
import { paloalto } from './paloalto';
import { pf } from './pf';
import { suricata } from './suricata';
import type { RuleFormat } from './types';
import { windows } from './windows';

export const FORMATS: RuleFormat[] = [iptables, ip6tables, nftables, pf, ciscoAsa, ciscoIos, windows, paloalto, suricata, dnsRpz, dnsUnbound];
export type { RuleFormat };
