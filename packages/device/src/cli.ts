import { createInterface } from 'node:readline/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ErrorCode, type Decision } from '@sigilauth/protocol';
import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import { DecisionError, submitDecision } from './decisions.js';
import { SigilApiError } from './http.js';
import { fetchServerInfo, normalizePairingCode, pairDevice } from './pairing.js';
import { ServerMessageError } from './server-messages.js';
import { ConnectionError, fetchPendingRequests, fetchRequestView, SessionRejectedError } from './session.js';
import { KeystoreError, loadOrCreateDeviceKey, loadServers, resolveHome, selectServer } from './keystore.js';
import { findNotifySend, notifySend, type DesktopNotifier } from './desktop-notify.js';
import { KeyReader } from './keys.js';
import { announcement, Listener, type DecideMode } from './listen.js';
import { layoutScreen, outcomeLine, sanitizeText, summaryLine, terminalSize } from './screen.js';
import { VERSION } from './version.js';

const out = (text: string) => void process.stdout.write(text);
const err = (text: string) => void process.stderr.write(text);

/** An error whose message is meant for the person at the terminal, as is. */
class CliError extends Error {}

function isLoopback(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(question);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

const program = new Command('sigil-device')
  .description('Sigil approver device: pair with a Sigil server and approve or deny multi-party approval requests')
  .version(VERSION)
  .showHelpAfterError();

const homeOption = () =>
  new Option(
    '--home <dir>',
    'device home holding the key and pairings (env SIGIL_DEVICE_HOME; default $XDG_CONFIG_HOME/sigil-device or ~/.config/sigil-device)',
  );
const serverOption = () => new Option('--server <url>', 'paired server to use (default: the only paired server)');

program
  .command('pair')
  .description('pair this device with a Sigil server using the 8-digit code from the server')
  .requiredOption('--server <url>', 'server URL, e.g. https://sigil.example.com')
  // Checked before the server is asked, so that a mistyped code fails before the pictogram is compared.
  .requiredOption('--code <code>', '8-digit pairing code (spaces and dashes are ignored)', (code: string) => {
    if (normalizePairingCode(code) === null)
      throw new InvalidArgumentError('the pairing code must be 8 digits (spaces and dashes are ignored).');
    return code;
  })
  .option('--name <name>', 'name for this device, shown to the organisation (default: the name the administrator gave the pairing)')
  .option('--yes', 'the pictogram was compared: pair without asking (needed when not on a terminal)')
  .addOption(homeOption())
  .action(async (opts: { server: string; code: string; name?: string; yes?: boolean; home?: string }) => {
    const home = resolveHome(opts.home);
    const info = await fetchServerInfo(opts.server);
    out(
      [
        `Server: ${info.org_name === null ? '' : `${sanitizeText(info.org_name)} at `}${info.url} (Sigil ${sanitizeText(info.version)})`,
        `Server ID: ${info.server_id}`,
        `Server pictogram: ${info.pictogram.text}  (${info.pictogram.names.join(', ')})`,
        'Check that this is the pictogram the server shows. If it is not, someone is impersonating the server: do not use this pairing.',
        '',
      ].join('\n'),
    );
    if (info.pictogramMismatch)
      err('Warning: the server reported a different pictogram than its server ID gives; the one above is derived from the ID.\n');
    if (new URL(info.url).protocol === 'http:' && !isLoopback(info.url)) {
      err(
        'Warning: this server is reached over plain HTTP; anyone on the network can read and change the traffic. Use https:// outside local testing.\n',
      );
    }
    if (!opts.yes && !process.stdin.isTTY) {
      throw new CliError('not a terminal: compare the pictogram above with the one the server shows, then run the same command with --yes');
    }
    if (!opts.yes && !(await confirm('Does the pictogram match? [y/N] '))) {
      throw new CliError('pairing cancelled: the pictogram was not confirmed');
    }
    // Only now: a refused or cancelled pairing leaves no key behind.
    const key = loadOrCreateDeviceKey(home);
    let result;
    try {
      result = await pairDevice({ code: opts.code, key, info, home, ...(opts.name !== undefined ? { name: opts.name } : {}) });
    } catch (e) {
      if (e instanceof SigilApiError && e.code === ErrorCode.device_already_paired) {
        throw new CliError(
          `pairing failed: ${e.message} (${e.code}). This device's key is in ${home}; pair with a new one: --home NEW_DIR`,
        );
      }
      if (e instanceof SigilApiError) throw new CliError(`pairing failed: ${e.message}${e.status > 0 ? ` (${e.code})` : ''}`);
      throw e;
    }
    out(
      [
        `Paired with ${sanitizeText(result.server.org_name)} as "${sanitizeText(result.server.device_name)}".`,
        `fingerprint: ${key.fingerprint}`,
        `public_key: ${key.publicKey}`,
        '',
      ].join('\n'),
    );
  });

program
  .command('whoami')
  .description("print this device's fingerprint and public key (creating the key if needed) and the servers it is paired with")
  .addOption(homeOption())
  .action((opts: { home?: string }) => {
    const home = resolveHome(opts.home);
    const key = loadOrCreateDeviceKey(home);
    const servers = loadServers(home);
    const lines = [`fingerprint: ${key.fingerprint}`, `public_key: ${key.publicKey}`, `home: ${home}`];
    if (key.created) lines.push('(a new device key was created)');
    if (servers.length === 0) {
      lines.push('paired with: no servers');
    } else {
      lines.push('paired with:');
      for (const s of servers) {
        lines.push(
          `  ${sanitizeText(s.org_name)}  ${s.url}  (server ${s.server_id.slice(0, 16)}…, device "${sanitizeText(s.device_name)}", paired ${s.paired_at})`,
        );
      }
    }
    out(`${lines.join('\n')}\n`);
  });

program
  .command('listen')
  .description('stay connected, show each approval request as it arrives and decide on it')
  .addOption(serverOption())
  .addOption(
    new Option('--auto <decision>', 'decide every request at once, without asking (for tests and demos)').choices(['approve', 'deny']),
  )
  .option('--desktop-notify', 'also raise a desktop notification for each request and outcome (needs notify-send)')
  .addOption(homeOption())
  .action(async (opts: { server?: string; auto?: Decision; home?: string; desktopNotify?: boolean }) => {
    const home = resolveHome(opts.home);
    const key = loadOrCreateDeviceKey(home);
    const server = selectServer(loadServers(home), opts.server);

    let keys: KeyReader | null = null;
    let mode: DecideMode;
    let stop = () => {};
    if (opts.auto) {
      mode = { kind: 'auto', decision: opts.auto };
    } else if (process.stdin.isTTY) {
      const reader = new KeyReader(process.stdin, () => stop());
      keys = reader;
      mode = {
        kind: 'ask',
        ask: async (_view: DeviceRequestView, signal: AbortSignal) => {
          out('[d] Deny  [a] Approve > ');
          try {
            for (;;) {
              const key = await reader.next(signal);
              if (key === 'a' || key === 'd') {
                out(`${key === 'a' ? 'Approve' : 'Deny'}\n`);
                return key === 'a' ? 'approve' : 'deny';
              }
            }
          } catch (e) {
            out('\n');
            throw e;
          }
        },
        // Any key only turns the page: nothing is decided before the last page.
        more: async (signal: AbortSignal) => {
          out('-- more (press any key) --');
          await reader.next(signal).finally(() => out('\n'));
        },
      };
    } else {
      mode = { kind: 'none' };
    }

    let notify: DesktopNotifier | undefined;
    if (opts.desktopNotify) {
      const binary = findNotifySend();
      if (binary) notify = notifySend(binary, (message) => err(`${message}\n`));
      else err('--desktop-notify: notify-send was not found on PATH (install libnotify-bin); showing requests in the terminal only.\n');
    }
    const listener = new Listener({
      server,
      key,
      mode,
      write: out,
      warn: err,
      terminal: () => terminalSize(),
      ...(notify ? { notify } : {}),
    });
    let stopping = false;
    stop = () => {
      if (stopping) return;
      stopping = true;
      keys?.close();
      void listener.stop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    listener.start();
    try {
      await listener.done;
    } finally {
      keys?.close();
    }
    out('Stopped listening.\n');
  });

program
  .command('inbox')
  .description('print the requests waiting for this device and exit')
  .addOption(serverOption())
  .option('--json', 'print the requests as JSON')
  .addOption(homeOption())
  .action(async (opts: { server?: string; json?: boolean; home?: string }) => {
    const home = resolveHome(opts.home);
    const key = loadOrCreateDeviceKey(home);
    const server = selectServer(loadServers(home), opts.server);
    const views = await fetchPendingRequests(server, key);
    if (opts.json) {
      // JSON.stringify leaves DEL, C1 controls and bidi overrides raw: escape them too.
      const json = JSON.stringify(views, null, 2).replace(
        /[\u007f-\u009f\u061c\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]/g,
        (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      );
      out(`${json}\n`);
      return;
    }
    if (views.length === 0) {
      out(`No pending requests on ${sanitizeText(server.org_name)} (${server.url}).\n`);
      return;
    }
    const now = Date.now();
    out(
      `${views.length} pending request${views.length === 1 ? '' : 's'} on ${sanitizeText(server.org_name)} (${server.url}):\n${views
        .map((v) => summaryLine(v, now))
        .join('\n')}\n`,
    );
  });

program
  .command('respond')
  .description('approve or deny one request')
  .argument('<request-id>', 'the request to decide')
  .option('--approve', 'approve the request')
  .option('--deny', 'deny the request')
  .addOption(serverOption())
  .addOption(homeOption())
  .action(async (requestId: string, opts: { approve?: boolean; deny?: boolean; server?: string; home?: string }) => {
    if (Boolean(opts.approve) === Boolean(opts.deny)) throw new CliError('choose exactly one of --approve and --deny');
    const decision: Decision = opts.approve ? 'approve' : 'deny';
    const id = requestId.trim().toLowerCase();
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id))
      throw new CliError(`not a request ID: ${sanitizeText(requestId)}`);
    const home = resolveHome(opts.home);
    const key = loadOrCreateDeviceKey(home);
    const server = selectServer(loadServers(home), opts.server);
    const view = (await fetchPendingRequests(server, key)).find((v) => v.request_id === id);
    if (!view) {
      throw new CliError(`Request ${id} is not pending for this device: it has finished, expired, or does not name this device`);
    }
    const pages = layoutScreen(view, { size: terminalSize(), prompt: [`Sending: ${decision === 'approve' ? 'Approve' : 'Deny'}`] });
    out(`${pages.map((page) => page.join('\n')).join('\n')}\n\n`);
    try {
      await submitDecision(server, key, view, decision);
    } catch (e) {
      if (e instanceof DecisionError) throw new CliError(e.message);
      throw e;
    }
    // The decision's HTTP answer is not signed: what is printed comes from the signed view.
    let result: DeviceRequestView;
    try {
      result = await fetchRequestView(server, key, id);
    } catch (e) {
      const why = e instanceof SessionRejectedError ? `${e.message} (${e.code})` : (e as Error).message;
      process.stderr.write(
        `sigil-device: the server accepted the decision, but its signed view of the request could not be read (${sanitizeText(why)}): the outcome is unknown; check with sigil-device inbox\n`,
      );
      return;
    }
    if (result.my_decision !== decision) {
      throw new CliError(
        `the server accepted the decision, but its signed view of request ${id} does not show it; check with sigil-device inbox`,
      );
    }
    if (result.status === 'pending') {
      out(
        decision === 'approve'
          ? "Approved. Waiting for other approvers.\nYou'll be notified when the action completes or times out.\n"
          : 'Denied.\n',
      );
    } else {
      out(`${outcomeLine(result.status) === null ? '' : announcement(result)}\n`);
    }
  });

program.parseAsync().then(
  () => {
    // Let stdout drain, then leave even if a keep-alive socket lingers.
    process.stdout.write('', () => process.exit(process.exitCode ?? 0));
  },
  (e: unknown) => {
    const known =
      e instanceof CliError ||
      e instanceof KeystoreError ||
      e instanceof SigilApiError ||
      e instanceof ServerMessageError ||
      e instanceof DecisionError ||
      e instanceof ConnectionError ||
      e instanceof SessionRejectedError;
    const message =
      e instanceof SessionRejectedError
        ? `the server refused this device: ${e.message} (${e.code})`
        : known
          ? (e as Error).message
          : `unexpected error: ${(e as Error)?.stack ?? String(e)}`;
    process.stderr.write(`sigil-device: ${message}\n`, () => process.exit(1));
  },
);
