import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import { backoffDelay as sharedBackoff, DomainTag, signPayload, STATUS_REQUEST_MAX_IDS } from '@sigilauth/protocol';
import type {
  DeviceRequestView,
  DeviceAuthMessage,
  DeviceSessionProof,
  DeviceStatusRequest,
  DeviceSyncRequest,
  ServerMessage,
} from '@sigilauth/protocol/wire';
import { normalizeServerUrl, type DeviceKey, type PairedServer } from './keystore.js';
import { sanitizeText } from './screen.js';
import { MAX_SERVER_MESSAGE_BYTES, ServerMessageError, verifyServerMessage } from './server-messages.js';
import { mergeViews } from './decisions.js';

/** The answer to the server's challenge. */
export function authMessage(
  server: Pick<PairedServer, 'server_id'>,
  key: DeviceKey,
  nonce: string,
  now: number = Date.now(),
): DeviceAuthMessage {
  const payload: DeviceSessionProof = {
    purpose: 'device-session',
    server_id: server.server_id,
    fingerprint: key.fingerprint,
    nonce,
    issued_at: now,
  };
  return {
    type: 'auth',
    payload,
    device_public_key: key.publicKey,
    signature: signPayload(DomainTag.deviceSession, payload, key.privateKey),
  };
}

/** The socket's URL; `deviceNonce`, when given, is the nonce the server's challenge must repeat. */
export function webSocketUrl(serverUrl: string, deviceNonce?: string): string {
  const url = new URL(`${normalizeServerUrl(serverUrl)}/v1/device/ws`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (deviceNonce !== undefined) url.searchParams.set('nonce', deviceNonce);
  return url.toString();
}

/** The delay before reconnecting: the shared formula, from 0.5 s doubling to at most 30 s. */
export function backoffDelay(attempt: number, minMs = 500, maxMs = 30_000, random: () => number = Math.random): number {
  return sharedBackoff(attempt, minMs, maxMs, random);
}

/** The server refused this device's session proof (signed by the server: not a network fault). */
export class SessionRejectedError extends Error {
  override name = 'SessionRejectedError';
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The connection failed or dropped and the session was not asked to reconnect. */
export class ConnectionError extends Error {
  override name = 'ConnectionError';
}

export interface SessionHandlers {
  /** Authenticated; `reconnected` is true after the first time. */
  onReady?(info: { reconnected: boolean }): void;
  /**
   * Every pending request naming this device, newest first, after each (re)connection: the
   * session reads the server's sync page by page and calls this once it has them all (with any
   * request pushed meanwhile that is still pending).
   */
  onSync?(views: DeviceRequestView[]): void;
  /** One request changed. */
  onRequest?(view: DeviceRequestView): void;
  /** The connection dropped or failed; retryInMs is null when the session will not retry. */
  onDisconnect?(info: { reason: string; retryInMs: number | null }): void;
  /** A message failed verification; the connection is dropped. */
  onInvalidMessage?(error: ServerMessageError): void;
  /** The session stopped for good (server refused the device, or one-shot failure). */
  onFatal?(error: Error): void;
}

export interface SessionOptions extends SessionHandlers {
  server: PairedServer;
  key: DeviceKey;
  /** Reconnect after drops (default true); false makes one attempt. */
  reconnect?: boolean;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** How long the challenge/auth/ready/sync exchange may take (default 10 s). */
  handshakeTimeoutMs?: number;
  /** Drop the connection when the server has been silent (no ping, no message) this long (default 75 s). */
  livenessTimeoutMs?: number;
  now?: () => number;
}

type Phase = 'challenge' | 'ready' | 'sync' | 'live';

/** A sync being read page by page. */
interface SyncInProgress {
  /** The cursor of the page asked for; null for the first page. */
  expecting: string | null;
  views: Map<string, DeviceRequestView>;
  /** Requests pushed while the pages were read: newer than the pages, or not in them at all. */
  pushed: Map<string, DeviceRequestView>;
}

/**
 * One device's WebSocket session with a server: authenticates with the device key, verifies
 * every server message, and reconnects with backoff, relying on the server's sync to catch up.
 */
export class DeviceSession {
  private ws: WebSocket | null = null;
  private closed = false;
  private attempt = 0;
  private everReady = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private livenessTimer: NodeJS.Timeout | null = null;
  private readonly now: () => number;
  /** Authenticated and past the first page of the sync: the server takes requests now. */
  private live = false;

  constructor(private readonly options: SessionOptions) {
    this.now = options.now ?? Date.now;
  }

  get connected(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Stopped for good: closed, or refused by the server, with no connection left and no reconnection scheduled. */
  get stopped(): boolean {
    return this.closed && this.ws === null && this.retryTimer === null;
  }

  start(): this {
    this.connect();
    return this;
  }

  /**
   * Asks the server for the current signed view of these requests; each arrives through onRequest.
   * False when not connected: the caller asks again after the next sync.
   */
  requestStatus(requestIds: string[]): boolean {
    if (!this.live || !this.connected) return false;
    for (let i = 0; i < requestIds.length; i += STATUS_REQUEST_MAX_IDS) {
      this.ws!.send(
        JSON.stringify({ type: 'status', request_ids: requestIds.slice(i, i + STATUS_REQUEST_MAX_IDS) } satisfies DeviceStatusRequest),
      );
    }
    return true;
  }

  /** Closes the connection and stops reconnecting. */
  close(): Promise<void> {
    this.closed = true;
    this.clearTimers();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => ws.terminate(), 2000);
      ws.once('close', () => {
        clearTimeout(force);
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'device closing');
    });
  }

  private clearTimers(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.livenessTimer) clearTimeout(this.livenessTimer);
    this.handshakeTimer = null;
    this.livenessTimer = null;
  }

  private connect(): void {
    if (this.closed) return;
    const { server, key } = this.options;
    let phase: Phase = 'challenge';
    /** Ours, which the challenge must repeat; then the challenge's, which every later message must. */
    const deviceNonce = randomBytes(32).toString('base64url');
    let nonce: string | null = null;
    /** The signature of our proof: a refusal names it when it refuses this device's own proof. */
    let proofSignature: string | null = null;
    let failure: string | null = null;
    let sync: SyncInProgress | null = null;
    const ws = new WebSocket(webSocketUrl(server.url, deviceNonce), {
      handshakeTimeout: this.options.handshakeTimeoutMs ?? 10_000,
      maxPayload: MAX_SERVER_MESSAGE_BYTES,
      followRedirects: false,
    });
    this.ws = ws;

    const abort = (reason: string) => {
      failure ??= reason;
      ws.terminate();
    };
    const alive = () => {
      if (this.livenessTimer) clearTimeout(this.livenessTimer);
      this.livenessTimer = setTimeout(() => abort('the server stopped answering'), this.options.livenessTimeoutMs ?? 75_000);
    };
    this.handshakeTimer = setTimeout(() => abort('authentication timed out'), this.options.handshakeTimeoutMs ?? 10_000);

    ws.on('open', alive);
    ws.on('ping', alive);
    ws.on('message', (data, isBinary) => {
      if (ws !== this.ws || failure !== null) return;
      alive();
      let message: ServerMessage;
      try {
        if (isBinary) throw new ServerMessageError('the server sent a binary message');
        message = verifyServerMessage(
          Buffer.isBuffer(data) ? data : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]),
          server,
          { fingerprint: key.fingerprint, now: this.now(), nonce: nonce ?? '', deviceNonce },
        );
      } catch (err) {
        const error = err instanceof ServerMessageError ? err : new ServerMessageError((err as Error).message);
        this.options.onInvalidMessage?.(error);
        abort(error.message);
        return;
      }
      if (message.type === 'error') {
        // An error ends the session only when it names this device's own proof, or this device:
        // an attacker in the path can have any other proof or device refused on this connection.
        const mine = (proofSignature !== null && message.proof_signature === proofSignature) || message.fingerprint === key.fingerprint;
        if (!mine) {
          const error = new ServerMessageError('a server error names neither this device nor its proof');
          this.options.onInvalidMessage?.(error);
          return abort(error.message);
        }
        const rejected = new SessionRejectedError(sanitizeText(message.code), sanitizeText(message.message));
        failure = `the server refused this device: ${rejected.message}`;
        this.closed = true;
        this.options.onFatal?.(rejected);
        ws.terminate();
        return;
      }
      if (phase === 'challenge') {
        if (message.type !== 'challenge') return abort(`expected a challenge, got ${message.type}`);
        nonce = message.nonce;
        const auth = authMessage(server, key, message.nonce, this.now());
        proofSignature = auth.signature;
        ws.send(JSON.stringify(auth));
        phase = 'ready';
      } else if (phase === 'ready') {
        if (message.type !== 'ready') return abort(`expected ready, got ${message.type}`);
        phase = 'sync';
        sync = { expecting: null, views: new Map(), pushed: new Map() };
        this.options.onReady?.({ reconnected: this.everReady });
        this.everReady = true;
      } else if (message.type === 'sync') {
        if (phase === 'sync') {
          phase = 'live';
          this.live = true;
          if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
          this.attempt = 0;
        }
        // A first page starts a sync over (the server re-syncs after its storage reconnects);
        // a page for a cursor not asked for is stale.
        if (message.cursor === null) sync = { expecting: null, views: new Map(), pushed: sync?.pushed ?? new Map() };
        else if (sync === null || message.cursor !== sync.expecting) return;
        for (const view of message.requests) sync.views.set(view.request_id, view);
        if (message.next_cursor !== null) {
          sync.expecting = message.next_cursor;
          ws.send(JSON.stringify({ type: 'sync', cursor: message.next_cursor } satisfies DeviceSyncRequest));
          return;
        }
        const views = syncResult(sync);
        sync = null;
        this.options.onSync?.(views);
      } else if (message.type === 'request') {
        // A change pushed while the sync is read may be newer than its page, or not in any page.
        if (sync) sync.pushed.set(message.request.request_id, message.request);
        this.options.onRequest?.(message.request);
      } else {
        abort(`unexpected ${message.type} message`);
      }
    });
    ws.on('error', (err) => {
      failure ??= (err as NodeJS.ErrnoException).code ?? err.message;
    });
    ws.on('close', (code, reason) => {
      if (ws !== this.ws) return;
      this.live = false;
      this.clearTimers();
      this.ws = null;
      if (this.closed) return;
      const why = failure ?? `connection closed (${code}${reason.length > 0 ? ` ${sanitizeText(reason.toString())}` : ''})`;
      if (this.options.reconnect === false) {
        this.closed = true;
        this.options.onDisconnect?.({ reason: why, retryInMs: null });
        this.options.onFatal?.(new ConnectionError(`connection to ${server.url} failed: ${why}`));
        return;
      }
      const delay = backoffDelay(this.attempt++, this.options.minBackoffMs, this.options.maxBackoffMs);
      this.options.onDisconnect?.({ reason: why, retryInMs: delay });
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.connect();
      }, delay);
    });
  }
}

/** The pages of a sync with what was pushed meanwhile: every request still pending, newest first. */
function syncResult(sync: SyncInProgress): DeviceRequestView[] {
  const merged = new Map<string, DeviceRequestView>();
  for (const [id, view] of sync.pushed) if (!sync.views.has(id)) merged.set(id, view);
  for (const [id, view] of sync.views) {
    const pushed = sync.pushed.get(id);
    merged.set(id, pushed ? mergeViews(view, pushed) : view);
  }
  return [...merged.values()].filter((v) => v.status === 'pending');
}

/** Connects once, authenticates, and returns the server's sync: every pending request naming this device, newest first. */
export function fetchPendingRequests(
  server: PairedServer,
  key: DeviceKey,
  options: { timeoutMs?: number } = {},
): Promise<DeviceRequestView[]> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const session = new DeviceSession({
      server,
      key,
      reconnect: false,
      handshakeTimeoutMs: options.timeoutMs ?? 10_000,
      onSync: (views) => {
        if (settled) return;
        settled = true;
        void session.close().then(() => resolve(views));
      },
      onFatal: (err) => {
        if (settled) return;
        settled = true;
        void session.close().then(() => reject(err));
      },
    });
    session.start();
  });
}

/**
 * Connects once, authenticates, and returns the server's signed view of one request naming this
 * device, finished or not (asked for with a `status` message once the sync is in).
 */
export function fetchRequestView(
  server: PairedServer,
  key: DeviceKey,
  requestId: string,
  options: { timeoutMs?: number } = {},
): Promise<DeviceRequestView> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (done: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void session.close().then(done);
    };
    const timeoutMs = options.timeoutMs ?? 10_000;
    const timer = setTimeout(
      () => settle(() => reject(new ConnectionError(`the server did not send its view of request ${requestId} in time`))),
      timeoutMs,
    );
    const session = new DeviceSession({
      server,
      key,
      reconnect: false,
      handshakeTimeoutMs: timeoutMs,
      onSync: () => session.requestStatus([requestId]),
      onRequest: (view) => {
        if (view.request_id === requestId) settle(() => resolve(view));
      },
      onFatal: (err) => settle(() => reject(err)),
    });
    session.start();
  });
}
