// The names a configuration may use for alerts and protocols, in one place: the policy, its
// explanation and the sinks' routing check a user's words against these.
import path from 'node:path';
import { readDataFile } from '../common/dataFile';

export const ALERT_KINDS = ['unauthorized_im', 'sensitive_data', 'file_transfer', 'cleartext_credentials', 'policy_violation', 'malicious_link'] as const;

let known: Set<string> | undefined;
/** the protocol ids the signatures report (protocols.yaml) */
export function knownProtocols(): Set<string> {
  return (known ??= new Set((readDataFile(path.join(__dirname, 'protocols.yaml')).known as string[]).map(String)));
}
