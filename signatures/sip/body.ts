// Instant-message bodies: text/plain, text/html, message/cpim (RFC 3862) wrapping either.
import { cleanText, cp1252, htmlToText, utf8OrCp1252 } from '../text';
import { bareUri, inAngles, mediaType } from './parser';

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
  const decode = (b: Buffer) => (charset === 'utf-8' || charset === 'utf8' ? utf8OrCp1252(b) : cp1252(b));
  if (type === 'text/plain') return { text: cleanText(decode(body)) };
  if (type === 'text/html' || type === 'application/xhtml+xml') return { text: htmlToText(decode(body)) };
  if (type === 'message/cpim' && depth < 2) {
    // CPIM: message headers, blank line, MIME headers of the content, blank line, content. Header
    // lines are UTF-8 (RFC 3862 §3.1), as SIP and MSRP heads are read: a bad sequence becomes U+FFFD
    const a = body.indexOf('\r\n\r\n');
    if (a < 0) return undefined;
    const cpimHeaders = body.toString('utf8', 0, a);
    const rest = body.subarray(a + 4);
    const b = rest.indexOf('\r\n\r\n');
    const mimeHeaders = b < 0 ? '' : rest.toString('utf8', 0, b);
    const content = b < 0 ? rest : rest.subarray(b + 4);
    const inner = imText(headerValue(mimeHeaders, 'content-type') ?? 'text/plain', content, depth + 1);
    if (!inner) return undefined;
    // as SIP's From/To: the URI in angle brackets, without its scheme (tel: too) and parameters
    // (a long one is kept, for the engine to cut and mark)
    const addr = (h: string) => {
      const uri = inAngles(headerValue(cpimHeaders, h));
      return uri === undefined ? undefined : bareUri(uri);
    };
    return { text: inner.text, from: addr('From'), to: addr('To') };
  }
  return undefined;
}

/**
 * The first `name:` line's value in `head`. Lines end at CR or LF only: U+2028/U+2029, which a
 * multiline RegExp also takes for line ends, are characters of a UTF-8 name ("x\u2028From: <im:ceo>"
 * in a Subject must not be read as a From line). One linear scan however long the head.
 */
function headerValue(head: string, name: string): string | undefined {
  const v = head.match(new RegExp(`(?:^|[\\r\\n])${name}:([^\\r\\n]*)`, 'i'))?.[1].trim();
  return v || undefined;
}
