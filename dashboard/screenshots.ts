// `npm run screenshots`: starts `shadowim serve --demo` on a free loopback port, logs in with headless
// Chromium and saves the main pages into docs/img/. Needs /usr/bin/chromium.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServe } from '../test/dashboard/serve';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/helpers/chromium';
import { makeDirs } from '../common/makeDirs';


async function main(): Promise<void> {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; install chromium (apt-get install -y chromium) or set CHROMIUM`);
  const out = path.resolve(__dirname, '..', 'docs', 'img');
  makeDirs(out);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shadowim-shots-'));
  const served = await startServe(['--demo', '--store', path.join(tmp, 'demo.db')]);
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 1 });
    const page = await ctx.newPage();
    await page.goto(served.url + '/');
    await page.fill('#login-user', 'admin');
    await page.fill('#login-password', served.password!);
    await page.click('#login-submit');
    await page.waitForSelector('#chart-sessions');
    const shots: Array<[string, string, (p: typeof page) => Promise<void>]> = [
      ['overview', '#/overview?range=7d', async (p) => void (await p.waitForSelector('#totals-table tbody tr'))],
      ['alerts', '#/alerts', async (p) => {
        await p.waitForSelector('#alerts-table tbody tr');
        await p.selectOption('#f-severity', 'critical');
        await p.waitForSelector('#alerts-table tbody tr[data-severity="critical"]');
        // the card number from the demo capture: its session has pcap evidence
        const row = p.locator('#alerts-table tbody tr', { hasText: '#ops' }).first();
        await row.click();
        await p.waitForSelector('#pcap-link');
      }],
      ['conversations', '#/conversations?range=7d', async (p) => void (await p.waitForSelector('#messages-table tbody tr'))],
      ['people', '#/people', async (p) => void (await p.waitForSelector('#users-table tbody tr'))],
      ['sensors', '#/sensors', async (p) => void (await p.waitForSelector('#sensors-table tbody tr'))],
      ['rules', '#/rules', async (p) => void (await p.waitForFunction(() => (document.getElementById('rules-text')?.textContent ?? '').length > 200))],
      ['settings', '#/settings', async (p) => void (await p.waitForSelector('#policy-explanation'))],
    ];
    for (const [name, hash, ready] of shots) {
      await page.goto(served.url + '/' + hash);
      await ready(page);
      await page.waitForTimeout(300);
      const file = path.join(out, `dashboard-${name}.png`);
      await page.screenshot({ path: file, fullPage: false });
      console.log(`wrote ${path.relative(process.cwd(), file)}`);
    }
  } finally {
    await browser.close();
    await served.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module || process.argv[1] === __filename) {
  main().catch((e) => {
    console.error(`screenshots: ${e.message}`);
    process.exit(1);
  });
}
