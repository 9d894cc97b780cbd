// The headless Chromium the dashboard tests and `npm run screenshots` drive through playwright-core:
// where it is, and the flags for a quiet, reproducible run (no sandbox as root in CI, no background
// network, no first-run or component updates; QUIC off so every request is the server's HTTP).
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

/** Opens `url` in headless Chromium, logs in on the dashboard's form, waits for `selector`, runs `fn`; closes the browser after. */
export async function withLoggedInPage<T>(url: string, user: string, password: string, selector: string, fn: (page: import('playwright-core').Page) => Promise<T>): Promise<T> {
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await (await browser.newContext()).newPage();
    await page.goto(url);
    await page.fill('#login-user', user);
    await page.fill('#login-password', password);
    await page.click('#login-submit');
    await page.waitForSelector(selector);
    return await fn(page);
  } finally {
    await browser.close();
  }
}
