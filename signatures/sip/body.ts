// Instant-message bodies: text/plain, text/html, message/cpim (RFC 3862) wrapping either.
import { cleanText, htmlToText, utf8OrLatin1 } from '../text';
import { inAngles, mediaType } from './parser';

export interface ImBody {
  text: string;
  /** CPIM From/To when the body carried them */
  from?: string;
  to?: string;
}

/** Text of an IM body, or undefined when the content type is not a text message (e.g. isComposing). */
export function imText(contentType: string | undefined, body: Buffer, depth = 0): ImBody | undefined {
  const { type, params } = mediaType(contentType ?? 'text/plain');
  const charset = (params.get('charset') ?? 'utf-8').toLowerCase();
  const decode = (b: Buffer) => (charset === 'utf-8' || charset === 'utf8' ? utf8OrLatin1(b) : b.toString('latin1'));
  if (type === 'text/plain') return { text: cleanText(decode(body)) };
  if (type === 'text/html' || type === 'application/xhtml+xml') return { text: htmlToText(decode(body)) };
  if (type === 'message/cpim' && depth < 2) {
    // CPIM: message headers, blank line, MIME headers of the content, blank line, content
    const s = body.toString('latin1');
    const a = s.indexOf('\r\n\r\n');
    if (a < 0) return undefined;
    const cpimHeaders = s.slice(0, a);
    const rest = body.subarray(a + 4);
    const b = rest.indexOf('\r\n\r\n');
    const mimeHeaders = b < 0 ? '' : rest.subarray(0, b).toString('latin1');
    const content = b < 0 ? rest : rest.subarray(b + 4);
    const ct = mimeHeaders.match(/^content-type:\s*(.+)$/im)?.[1];
    const inner = imText(ct ?? 'text/plain', content, depth + 1);
    if (!inner) return undefined;
    const addr = (h: string) => inAngles(cpimHeaders.match(new RegExp(`^${h}:\\s*(.+)$`, 'im'))?.[1])?.replace(/^(sips?|im|pres):/i, '');
    return { text: inner.text, from: addr('From'), to: addr('To') };
  }
  return undefined;
}
