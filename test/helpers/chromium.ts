// The headless Chromium the dashboard tests and `npm run screenshots` drive through playwright-core:
// where it is, and the flags for a quiet, reproducible run (no sandbox as root in CI, no background
// network, no first-run or component updates; QUIC off so every request is the server's HTTP).
import fs from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** In a describe body: without Chromium, one skipped test says why and this is true (return then). */
export function noChromium(): boolean {
  if (fs.existsSync(CHROMIUM)) return false;
  it.skip(`skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);
  return true;
}

/** Headless Chromium with the flags above, on a fresh temporary profile. */
export function launchChromium(): Promise<import('playwright-core').Browser> {
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** Opens `url` in `page`, logs in on the dashboard's form and waits for `ready` (a selector of the logged-in page). */
export async function logIn(page: import('playwright-core').Page, url: string, user: string, password: string, ready: string): Promise<void> {
  await page.goto(url);
  await page.waitForSelector('#login-form');
  await page.fill('#login-user', user);
  await page.fill('#login-password', password);
  await page.click('#login-submit');
  await page.waitForSelector(ready);
}

/** How wide the page is (its scroll width) and the window it is in, in CSS pixels. */
export function pageWidth(page: import('playwright-core').Page): Promise<{ page: number; view: number }> {
  return page.evaluate(() => ({ page: document.documentElement.scrollWidth, view: window.innerWidth }));
}

/** Opens `url` in headless Chromium, logs in on the dashboard's form, waits for `selector`, runs `fn`; closes the browser after. */
export async function withLoggedInPage<T>(url: string, user: string, password: string, selector: string, fn: (page: import('playwright-core').Page) => Promise<T>): Promise<T> {
  const browser = await launchChromium();
  try {
    const page = await (await browser.newContext()).newPage();
    await logIn(page, url, user, password, selector);
    return await fn(page);
  } finally {
    await browser.close();
  }
}
