// verifyWebhook and the Node snippet of docs/integrations.md against hostile signature headers: a
// header of non-ASCII characters as long (in UTF-16 units) as a real signature is refused, not a throw.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { signWebhook, verifyWebhook } from '../../outputs/sinks/sinks';
import { REPO } from '../helpers/paths';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

/** the ```js block after "In Node:" in docs/integrations.md, as a function of its free variables */
function docsSnippet(): (secret: string, id: string, ts: number, rawBody: string, header: string) => boolean {
  const md = fs.readFileSync(path.join(REPO, 'docs', 'integrations.md'), 'utf8');
  const code = /In Node:\n\n```js\n([\s\S]*?)```/.exec(md)![1];
  return new Function('crypto', 'secret', 'id', 'ts', 'rawBody', 'header', `${code}\nreturn ok;`).bind(null, crypto) as any;
}

describe('webhook signature verification', () => {
  const now = Date.now();
  const ts = Math.floor(now / 1000);
  const good = signWebhook(SECRET, 'id1', ts, '{}');
  // as many UTF-16 units as a signature, twice its bytes
  const evil = 'é'.repeat(good.length);
  const headers = (sig: string) => ({ 'webhook-id': 'id1', 'webhook-timestamp': String(ts), 'webhook-signature': sig });

  it('verifyWebhook refuses a non-ASCII signature of the same UTF-16 length (was: RangeError) and accepts the real one', () => {
    assert.equal(verifyWebhook(SECRET, headers(evil), '{}', 300, now), false);
    assert.equal(verifyWebhook(SECRET, headers(`${evil} ${good}`), '{}', 300, now), true);
  });

  it("the docs' Node snippet does the same", () => {
    const verify = docsSnippet();
    assert.equal(verify(SECRET, 'id1', ts, '{}', evil), false);
    assert.equal(verify(SECRET, 'id1', ts, '{}', good), true);
    assert.equal(verify(SECRET, 'id1', ts, '{"x":1}', good), false);
  });
});
