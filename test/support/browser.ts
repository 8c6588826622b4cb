// Debian's Chromium driven by playwright-core (which downloads no browser of its own; it gives each launch a new
// empty profile), headless and off the network but for loopback: the flags keep it from reaching for Google's hosts,
// which this machine cannot resolve.
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.SLUICE_CHROMIUM ?? '/usr/bin/chromium';

export const launchBrowser = (): Promise<Browser> => chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
