// Text that old clients sent in their Windows code page (AIM charset 3 "ISO-8859-1", IRC and Yahoo
// bytes that are not UTF-8, MSN/SIP `charset=iso-8859-1` or `windows-1252`, ICQ v5) is read as
// Windows-1252, as the WHATWG Encoding standard reads those labels: curly quotes, €, dashes and ™ at
// 0x80–0x9F come out as those characters, not as C1 control codes that the text cleaner then drops.
// Oracle: glibc's iconv CP1252 table (its five unassigned bytes are WHATWG's C1 controls).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp1252 } from '../../signatures/text';
import { decodeText as oscarText } from '../../signatures/oscar/parser';
import { decodeText as ircText } from '../../signatures/irc/parser';
import { decodeYahooText } from '../../signatures/ymsg/parser';
import { decodeText as msnText } from '../../signatures/msn/session';
import { messageText as icqText } from '../../signatures/icq5/parser';
import { imText } from '../../signatures/sip/body';
import { analyzeCapture } from '../helpers/analyze';
import { bosOn443, fragment, messageBlock, outgoingIm } from './oscar-wire';

const UNASSIGNED = [0x81, 0x8d, 0x8f, 0x90, 0x9d];
// “Quoted” – 5 € ™ café — in Windows-1252 bytes
const WIRE = Buffer.from([0x93, 0x51, 0x75, 0x6f, 0x74, 0x65, 0x64, 0x94, 0x20, 0x96, 0x20, 0x35, 0x20, 0x80, 0x20, 0x99, 0x20, 0x63, 0x61, 0x66, 0xe9]);
const TEXT = '“Quoted” – 5 € ™ café';

describe('Windows-1252 text from legacy clients', () => {
  it('maps every byte as glibc iconv CP1252 does, the five unassigned ones to C1 controls (WHATWG)', function () {
    if (spawnSync('iconv', ['--version']).status !== 0) this.skip();
    for (let b = 0; b < 256; b++) {
      const got = cp1252(Buffer.from([b]));
      if (UNASSIGNED.includes(b)) {
        assert.equal(got, String.fromCharCode(b), `0x${b.toString(16)}`);
        continue;
      }
      const r = spawnSync('iconv', ['-f', 'CP1252', '-t', 'UTF-8'], { input: Buffer.from([b]) });
      assert.equal(r.status, 0, `iconv refused 0x${b.toString(16)}`);
      assert.equal(got, r.stdout.toString('utf8'), `0x${b.toString(16)}`);
    }
  });

  it('each decoder that falls back to the code page reads curly quotes, dashes, € and ™', () => {
    assert.equal(oscarText(WIRE, 3).text, TEXT, 'AIM charset 3');
    assert.equal(oscarText(WIRE, 0).text, TEXT, 'AIM charset 0, not UTF-8');
    assert.equal(ircText(WIRE), TEXT, 'IRC');
    assert.equal(decodeYahooText(WIRE, false), TEXT, 'Yahoo without the UTF-8 flag');
    assert.equal(msnText(WIRE, 'windows-1252'), TEXT, 'MSN charset=windows-1252');
    assert.equal(msnText(WIRE, 'iso-8859-1'), TEXT, 'MSN charset=iso-8859-1');
    assert.equal(icqText(WIRE, 1), TEXT, 'ICQ v5');
    assert.equal(imText('text/plain; charset=ISO-8859-1', WIRE)?.text, TEXT, 'SIP charset=iso-8859-1');
    assert.equal(imText('text/plain', WIRE)?.text, TEXT, 'SIP UTF-8 by default, not valid UTF-8');
    // valid UTF-8 stays UTF-8
    assert.equal(ircText(Buffer.from(TEXT)), TEXT);
    assert.equal(oscarText(Buffer.from(TEXT), 0).text, TEXT);
  });

  it('an AIM message in charset 3 from a Windows client keeps its quotes and euro sign end to end', () => {
    const { cap, t, c } = bosOn443('WinUser1');
    t.send('c', outgoingIm(c, 'buddy2', messageBlock(fragment(Buffer.concat([Buffer.from('<HTML><BODY>'), WIRE, Buffer.from('</BODY></HTML>')]), 3))));
    t.close();
    const msgs = analyzeCapture(cap).filter((e) => e.type === 'message');
    assert.deepEqual(msgs.map((m) => [m.from, m.to, m.text]), [['WinUser1', 'buddy2', TEXT]]);
  });
});
