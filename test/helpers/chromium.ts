// The headless Chromium the dashboard tests and `npm run screenshots` drive through playwright-core:
// where it is, and the flags for a quiet, reproducible run (no sandbox as root in CI, no background
// network, no first-run or component updates; QUIC off so every request is the server's HTTP).
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
