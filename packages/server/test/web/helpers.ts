import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

export const CHROMIUM_PATH = process.env.SIGIL_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../../../test-results/screenshots/', import.meta.url));

/** Why browser tests cannot run here, or null; under CI (CI=true or SIGIL_REQUIRE_INTEGRATION=1) it fails instead. */
export function browserUnavailable(): string | null {
  if (existsSync(CHROMIUM_PATH)) return null;
  const reason = `no Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set SIGIL_CHROMIUM)`;
  if (process.env.SIGIL_REQUIRE_INTEGRATION === '1' || process.env.CI === 'true')
    throw new Error(`browser tests are required in this run: ${reason}`);
  return reason;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    timeout: 30_000,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface Approver {
  context: BrowserContext;
  page: Page;
  cdp: CDPSession;
  authenticatorId: string;
}

/**
 * A fresh browser profile (context) with one page and a CDP virtual authenticator standing in
 * for a phone's platform authenticator: CTAP2, internal transport, resident keys, user
 * verification that always succeeds (as if Face ID matched), presence simulated.
 */
export async function newApprover(browser: Browser, viewport = { width: 1280, height: 800 }): Promise<Approver> {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(15_000);
  context.setDefaultNavigationTimeout(15_000);
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return { context, page, cdp, authenticatorId };
}

/** Pairs the page's passkey through the web approver's own pairing screen, as a person would. */
export async function pairInBrowser(page: Page, origin: string, code: string, name: string): Promise<void> {
  await page.goto(`${origin}/approve/pair?code=${code}`);
  await page.getByLabel('Name for this device').fill(name);
  await page.getByLabel('The console shows the same pictogram').check();
  await page.getByRole('button', { name: 'Create passkey' }).click();
}

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return `${SCREENSHOT_DIR}${name}.png`;
}
