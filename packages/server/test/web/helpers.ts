import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { Api } from '../../../../test/support/api.js';
import type { TestDevice } from '../../../../test/support/device-keys.js';
import { freePort, startSigil, type SigilProcess } from '../../../../test/support/processes.js';
import { createStore, type TestStore } from '../../../../test/support/stores.js';

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

/**
 * What a browser test runs against: a real `sigil serve` for "Acme Corp" on a fresh embedded
 * store, at http://localhost:PORT (the passkeys' RP ID), and one headless Chromium.
 */
export class BrowserRig {
  private constructor(
    readonly store: TestStore,
    readonly port: number,
    readonly origin: string,
    private readonly env: Record<string, string>,
    public sigil: SigilProcess,
    readonly apiKey: string,
    readonly api: Api,
    readonly serverId: string,
    readonly browser: Browser,
  ) {}

  /** `env` is added to the server's environment. */
  static async start(env: Record<string, string> = {}): Promise<BrowserRig> {
    const store = await createStore('pglite');
    let sigil: SigilProcess | undefined;
    try {
      const port = await freePort();
      const origin = `http://localhost:${port}`;
      const fullEnv = { SIGIL_ORG_NAME: 'Acme Corp', SIGIL_PUBLIC_URL: origin, ...env };
      sigil = await startSigil(store, fullEnv, { port });
      assert.ok(sigil.apiKey);
      const api = new Api(origin, sigil.apiKey);
      const serverId = (await api.get('/v1/info')).body.server_id;
      return new BrowserRig(store, port, origin, fullEnv, sigil, sigil.apiKey, api, serverId, await launchChromium());
    } catch (err) {
      await sigil?.stop();
      await store.dispose();
      throw err;
    }
  }

  /** Pairs a software test device through the API. */
  async pair(device: TestDevice): Promise<void> {
    const code = (await this.api.post('/v1/pairings', { name: device.name })).body.code;
    assert.equal((await this.api.withKey(null).post('/v1/pairings/complete', device.pairingBody(this.serverId, code))).status, 200);
  }

  /** A page of its own browser profile for the console, with its confirmations accepted. */
  async consolePage(viewport = { width: 1280, height: 800 }): Promise<Page> {
    const context = await this.browser.newContext({ viewport });
    context.setDefaultTimeout(15_000);
    const page = await context.newPage();
    page.on('dialog', (dialog) => void dialog.accept());
    return page;
  }

  /** Signs the page in to the console with the first API key. */
  async signInToConsole(page: Page): Promise<void> {
    await page.goto(`${this.origin}/console`);
    await page.getByLabel('API key').fill(this.apiKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Requests' }).waitFor();
  }

  /** The server crashes and starts again on the same address and store. */
  async restart(): Promise<void> {
    await this.sigil.kill();
    this.sigil = await startSigil(this.store, this.env, { port: this.port });
  }

  async close(): Promise<void> {
    await this.browser.close();
    await this.sigil.stop();
    await this.store.dispose();
  }
}
