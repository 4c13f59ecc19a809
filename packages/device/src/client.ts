import WebSocket from 'ws';
import {
  actionDigest,
  decodePublicKey,
  DomainTag,
  fingerprintOf,
  isFingerprint,
  isFresh,
  pictogramFor,
  signPayload,
  STATUS_REQUEST_MAX_IDS,
  verifyPayload,
  type Decision,
  type DecisionPayload,
  type DeviceAuthMessage,
  type DeviceRequestView,
  type DeviceSyncRequest,
  type DeviceStatusRequest,
  type DeviceSessionProof,
  type MpaStatus,
  type PairingProof,
  type ParamValue,
  type Pictogram,
  type ServerInfo,
  type ServerMessage,
} from '@sigilauth/protocol';
import { normalizeServerUrl, savePairing, type DeviceKey, type PairedServer } from './keystore.js';
import { sanitizeText } from './screen.js';

export const HTTP_TIMEOUT_MS = 15_000;
/** Largest server message accepted on the WebSocket (a sync of many large requests). */
export const MAX_SERVER_MESSAGE_BYTES = 8 * 1024 * 1024;

// ---------------------------------------------------------------- HTTP

/** A JSON error from the server: `{ error: { code, message, details? } }`, or a transport failure. */
export class SigilApiError extends Error {
  override name = 'SigilApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

async function requestJson(url: string, init: { method?: string; body?: unknown; timeoutMs?: number } = {}): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? 'GET',
      headers: init.body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: 'error',
      signal: AbortSignal.timeout(init.timeoutMs ?? HTTP_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    const why = (err as Error).name === 'TimeoutError' ? 'timed out' : (cause?.code ?? cause?.message ?? (err as Error).message);
    throw new SigilApiError(0, 'unreachable', `cannot reach ${new URL(url).origin}: ${why}`);
  }
  const text = await response.text();
  let body: unknown = undefined;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
    const code = typeof error?.code === 'string' ? sanitizeText(error.code) : `http_${response.status}`;
    const message = typeof error?.message === 'string' ? sanitizeText(error.message) : `HTTP ${response.status} ${sanitizeText(response.statusText)}`;
    const details = typeof error?.details === 'object' && error.details !== null ? (error.details as Record<string, unknown>) : undefined;
    throw new SigilApiError(response.status, code, message, details);
  }
  if (body === undefined) throw new SigilApiError(response.status, 'invalid_response', `the server sent a response that is not JSON (${url})`);
  return body;
}

// ---------------------------------------------------------------- server info and pairing

export interface VerifiedServerInfo extends ServerInfo {
  url: string;
  /** Derived here from server_id: what the person compares with the pictogram the server printed. */
  pictogram: Pictogram;
  /** Whether the pictogram the server reported differs from the one derived from its ID (a broken server). */
  pictogramMismatch: boolean;
}

/** GET /v1/info, checking that server_id really is the fingerprint of server_public_key. */
export async function fetchServerInfo(serverUrl: string): Promise<VerifiedServerInfo> {
  const url = normalizeServerUrl(serverUrl);
  const body = (await requestJson(`${url}/v1/info`)) as Partial<ServerInfo> | null;
  if (
    typeof body !== 'object' ||
    body === null ||
    !isFingerprint(body.server_id) ||
    typeof body.server_public_key !== 'string' ||
    typeof body.org_name !== 'string'
  ) {
    throw new SigilApiError(200, 'invalid_response', `${url}/v1/info did not describe a Sigil server`);
  }
  try {
    decodePublicKey(body.server_public_key);
  } catch {
    throw new SigilApiError(200, 'invalid_response', 'the server public key is not a compressed P-256 point');
  }
  if (fingerprintOf(body.server_public_key) !== body.server_id) {
    throw new SigilApiError(200, 'invalid_response', 'the server ID is not the fingerprint of the server public key');
  }
  const pictogram = pictogramFor(body.server_id);
  return {
    url,
    server_id: body.server_id,
    server_public_key: body.server_public_key,
    org_name: body.org_name,
    version: typeof body.version === 'string' ? body.version : 'unknown',
    pictogram,
    pictogramMismatch: body.pictogram?.text !== pictogram.text,
  };
}

/** The 8 digits of a pairing code as typed ("123 45-678" → "12345678"), or null. */
export function normalizePairingCode(code: string): string | null {
  const digits = code.replace(/[\s-]/g, '');
  return /^\d{8}$/.test(digits) ? digits : null;
}

export interface PairingResponse {
  status: 'completed';
  server_id: string;
  pairing_id: string;
  tenant_id: string;
  org_name: string;
  fingerprint: string;
  device_public_key: string;
  name: string;
  paired_at: string;
}

export interface PairOptions {
  code: string;
  key: DeviceKey;
  /** From fetchServerInfo; its server key is what later messages are verified against. */
  info: VerifiedServerInfo;
  name?: string;
  /** When given, the pairing is remembered in this device home. */
  home?: string;
  now?: number;
}

/** Completes a pairing: proves possession of the device key over the code, for this server only. */
export async function pairDevice(options: PairOptions): Promise<{ server: PairedServer; response: PairingResponse }> {
  const code = normalizePairingCode(options.code);
  if (code === null) throw new SigilApiError(0, 'invalid_code', 'the pairing code must be 8 digits');
  const { info, key } = options;
  const payload: PairingProof = {
    purpose: 'pairing',
    server_id: info.server_id,
    code,
    device_public_key: key.publicKey,
    fingerprint: key.fingerprint,
    // At most 100 characters, cut between code points (a lone surrogate cannot be signed). Empty:
    // the server names the device as the administrator named the pairing.
    name: Array.from((options.name ?? '').trim()).slice(0, 100).join(''),
    issued_at: options.now ?? Date.now(),
  };
  const signature = signPayload(DomainTag.pairing, payload, key.privateKey);
  const body = (await requestJson(`${info.url}/v1/pairings/complete`, { method: 'POST', body: { payload, signature } })) as Partial<PairingResponse>;
  if (
    body?.status !== 'completed' ||
    body.server_id !== info.server_id ||
    body.fingerprint !== key.fingerprint ||
    body.device_public_key !== key.publicKey ||
    typeof body.pairing_id !== 'string' ||
    typeof body.tenant_id !== 'string' ||
    typeof body.org_name !== 'string'
  ) {
    throw new SigilApiError(200, 'invalid_response', 'the server answered the pairing with something other than this device and server');
  }
  const response = body as PairingResponse;
  const server: PairedServer = {
    url: info.url,
    server_id: info.server_id,
    server_public_key: info.server_public_key,
    org_name: response.org_name,
    tenant_id: response.tenant_id,
    device_name: typeof response.name === 'string' ? response.name : payload.name,
    pairing_id: response.pairing_id,
    paired_at: typeof response.paired_at === 'string' ? response.paired_at : new Date().toISOString(),
  };
  if (options.home !== undefined) savePairing(options.home, server);
  return { server, response };
}

// ---------------------------------------------------------------- server messages

export class ServerMessageError extends Error {
  override name = 'ServerMessageError';
}

const STATUSES: ReadonlySet<string> = new Set<MpaStatus>(['pending', 'approved', 'rejected', 'timeout', 'cancelled']);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isParamValue = (v: unknown): v is ParamValue =>
  typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCursor = (v: unknown): v is string | null => v === null || (typeof v === 'string' && v.length > 0 && v.length <= 200);

/** Whether a value has the shape of a DeviceRequestView (so rendering and signing cannot trip over it). */
export function isDeviceRequestView(value: unknown): value is DeviceRequestView {
  if (!isObject(value)) return false;
  const v = value;
  const action = v.action;
  return (
    typeof v.tenant_id === 'string' &&
    typeof v.org_name === 'string' &&
    typeof v.request_id === 'string' &&
    typeof v.status === 'string' &&
    STATUSES.has(v.status) &&
    isObject(action) &&
    typeof action.type === 'string' &&
    typeof action.description === 'string' &&
    isObject(action.params) &&
    Object.values(action.params).every(isParamValue) &&
    typeof v.action_digest === 'string' &&
    isCount(v.groups_required) &&
    isCount(v.groups_total) &&
    isCount(v.groups_satisfied_count) &&
    typeof v.group_name === 'string' &&
    (v.my_decision === null || v.my_decision === 'approve' || v.my_decision === 'deny') &&
    (v.my_group_satisfied === undefined || typeof v.my_group_satisfied === 'boolean') &&
    typeof v.expires_at === 'string' &&
    typeof v.created_at === 'string' &&
    (v.completed_at === null || typeof v.completed_at === 'string')
  );
}

export interface VerifyOptions {
  /** This device's fingerprint: messages addressed to another device are refused. */
  fingerprint?: string;
  /** Clock for the freshness check (default Date.now()). */
  now?: number;
  /** Refuse messages signed more than SIGNATURE_FRESHNESS_MS away from now (default true). */
  checkFreshness?: boolean;
}

/**
 * Parses and checks one WebSocket message from the server: the signature must verify against
 * the server key saved at pairing, under the server-message domain tag; it must name this
 * server (and this device), be fresh, and be well-formed. Throws ServerMessageError otherwise.
 */
export function verifyServerMessage(
  data: unknown,
  server: Pick<PairedServer, 'server_id' | 'server_public_key'>,
  options: VerifyOptions = {},
): ServerMessage {
  let message: unknown = data;
  if (typeof data === 'string' || Buffer.isBuffer(data)) {
    try {
      message = JSON.parse(data.toString());
    } catch {
      throw new ServerMessageError('the server sent a message that is not JSON');
    }
  }
  if (!isObject(message) || !isObject(message.payload) || typeof message.signature !== 'string') {
    throw new ServerMessageError('the server sent a message without a signed payload');
  }
  const payload = message.payload;
  if (!verifyPayload(DomainTag.serverMessage, payload, message.signature, server.server_public_key)) {
    throw new ServerMessageError('a server message signature does not verify against the key saved at pairing');
  }
  if (payload.purpose !== 'server-message') throw new ServerMessageError('a signed server message has the wrong purpose');
  if (payload.server_id !== server.server_id) throw new ServerMessageError('a server message names another server');
  if ((options.checkFreshness ?? true) && !isFresh(payload.issued_at, options.now ?? Date.now())) {
    throw new ServerMessageError('a server message is not fresh (is this computer\u2019s clock right?)');
  }
  const fingerprintOk = options.fingerprint === undefined || payload.fingerprint === options.fingerprint;
  switch (payload.type) {
    case 'challenge':
      if (typeof payload.nonce !== 'string' || payload.nonce === '') throw new ServerMessageError('a challenge has no nonce');
      break;
    case 'ready':
      if (!fingerprintOk) throw new ServerMessageError('a server message is addressed to another device');
      break;
    case 'sync':
      if (!fingerprintOk) throw new ServerMessageError('a server message is addressed to another device');
      if (!Array.isArray(payload.requests) || !payload.requests.every(isDeviceRequestView)) {
        throw new ServerMessageError('a sync message holds a malformed request');
      }
      if (!isCursor(payload.cursor) || !isCursor(payload.next_cursor)) throw new ServerMessageError('a sync message has a malformed cursor');
      break;
    case 'request':
      if (!fingerprintOk) throw new ServerMessageError('a server message is addressed to another device');
      if (!isDeviceRequestView(payload.request)) throw new ServerMessageError('a request message holds a malformed request');
      break;
    case 'error':
      if (typeof payload.code !== 'string' || typeof payload.message !== 'string') throw new ServerMessageError('a malformed error message');
      break;
    default:
      throw new ServerMessageError(`unknown server message type ${sanitizeText(String(payload.type))}`);
  }
  return payload as unknown as ServerMessage;
}

/** The answer to the server's challenge. */
export function authMessage(server: Pick<PairedServer, 'server_id'>, key: DeviceKey, nonce: string, now: number = Date.now()): DeviceAuthMessage {
  const payload: DeviceSessionProof = { purpose: 'device-session', server_id: server.server_id, fingerprint: key.fingerprint, nonce, issued_at: now };
  return { type: 'auth', payload, device_public_key: key.publicKey, signature: signPayload(DomainTag.deviceSession, payload, key.privateKey) };
}

export function webSocketUrl(serverUrl: string): string {
  const url = new URL(`${normalizeServerUrl(serverUrl)}/v1/device/ws`);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

/** Exponential backoff with jitter: 0.5 s doubling to 30 s, each delay drawn from [d/2, d]. */
export function backoffDelay(attempt: number, minMs = 500, maxMs = 30_000, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
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
      this.ws!.send(JSON.stringify({ type: 'status', request_ids: requestIds.slice(i, i + STATUS_REQUEST_MAX_IDS) } satisfies DeviceStatusRequest));
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
    let failure: string | null = null;
    let sync: SyncInProgress | null = null;
    const ws = new WebSocket(webSocketUrl(server.url), {
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
          { fingerprint: key.fingerprint, now: this.now() },
        );
      } catch (err) {
        const error = err instanceof ServerMessageError ? err : new ServerMessageError((err as Error).message);
        this.options.onInvalidMessage?.(error);
        abort(error.message);
        return;
      }
      if (message.type === 'error') {
        const rejected = new SessionRejectedError(sanitizeText(message.code), sanitizeText(message.message));
        failure = `the server refused this device: ${rejected.message}`;
        this.closed = true;
        this.options.onFatal?.(rejected);
        ws.terminate();
        return;
      }
      if (phase === 'challenge') {
        if (message.type !== 'challenge') return abort(`expected a challenge, got ${message.type}`);
        ws.send(JSON.stringify(authMessage(server, key, message.nonce, this.now())));
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
export function fetchPendingRequests(server: PairedServer, key: DeviceKey, options: { timeoutMs?: number } = {}): Promise<DeviceRequestView[]> {
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
 * Combines two views of one request that may arrive out of order: a finished request stays
 * finished, the approval count never goes down, and this device's decision is never forgotten.
 */
export function mergeViews(current: DeviceRequestView, incoming: DeviceRequestView): DeviceRequestView {
  if (current.status !== 'pending') return current;
  return {
    ...incoming,
    groups_satisfied_count: Math.max(current.groups_satisfied_count, incoming.groups_satisfied_count),
    my_decision: incoming.my_decision ?? current.my_decision,
    ...(current.my_group_satisfied || incoming.my_group_satisfied ? { my_group_satisfied: true } : {}),
  };
}

// ---------------------------------------------------------------- decisions

/** The action exactly as it is displayed, and therefore exactly what a decision signs. */
export function displayedAction(view: DeviceRequestView): { type: string; description: string; params: Record<string, ParamValue> } {
  return { type: view.action.type, description: view.action.description, params: { ...view.action.params } };
}

export class DecisionError extends Error {
  override name = 'DecisionError';
  constructor(
    readonly code: string,
    message: string,
    readonly status: number = 0,
  ) {
    super(message);
  }
}

const STATUS_WORDS: Record<MpaStatus, string> = {
  pending: 'pending',
  approved: 'approved',
  rejected: 'rejected',
  timeout: 'timed out',
  cancelled: 'cancelled',
};

export function statusWord(status: unknown): string {
  return typeof status === 'string' && status in STATUS_WORDS ? STATUS_WORDS[status as MpaStatus] : 'completed';
}

/** Builds and signs a decision for a request as displayed; refuses when the displayed action does not match its digest. */
export function signDecision(
  server: Pick<PairedServer, 'server_id'>,
  key: DeviceKey,
  view: DeviceRequestView,
  decision: Decision,
  now: number = Date.now(),
): { payload: DecisionPayload; signature: string } {
  const digest = actionDigest(displayedAction(view));
  if (digest !== view.action_digest) {
    throw new DecisionError('action_mismatch', 'Refusing to sign: the action shown does not match the action digest the server sent');
  }
  const payload: DecisionPayload = {
    purpose: 'mpa-decision',
    server_id: server.server_id,
    request_id: view.request_id,
    fingerprint: key.fingerprint,
    decision,
    action_digest: digest,
    issued_at: now,
  };
  return { payload, signature: signPayload(DomainTag.mpaDecision, payload, key.privateKey) };
}

/**
 * Approves or denies a request as shown in `view`. Returns the updated view. Throws
 * DecisionError with a person-readable message (e.g. "Request already rejected").
 */
export async function submitDecision(
  server: PairedServer,
  key: DeviceKey,
  view: DeviceRequestView,
  decision: Decision,
  options: { now?: number } = {},
): Promise<DeviceRequestView> {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(view.request_id)) {
    throw new DecisionError('invalid_request', 'the request ID is not a UUID');
  }
  if (view.status !== 'pending') throw new DecisionError('request_completed', `Request already ${statusWord(view.status)}`, 409);
  if (view.my_decision !== null) {
    throw new DecisionError('already_decided', `You have already ${view.my_decision === 'approve' ? 'approved' : 'denied'} this request`, 409);
  }
  const body = signDecision(server, key, view, decision, options.now);
  let result: unknown;
  try {
    result = await requestJson(`${server.url}/v1/mpa/requests/${encodeURIComponent(view.request_id)}/decisions`, { method: 'POST', body });
  } catch (err) {
    if (!(err instanceof SigilApiError)) throw err;
    if (err.code === 'request_completed') throw new DecisionError(err.code, `Request already ${statusWord(err.details?.status)}`, err.status);
    if (err.code === 'already_decided') throw new DecisionError(err.code, 'You have already decided on this request', err.status);
    if (err.code === 'not_an_approver') throw new DecisionError(err.code, 'This device is not an approver of this request', err.status);
    if (err.code === 'device_revoked') throw new DecisionError(err.code, 'This device has been revoked and can no longer decide', err.status);
    throw new DecisionError(err.code, `The server refused the decision: ${err.message} (${err.code})`, err.status);
  }
  if (!isDeviceRequestView(result) || result.request_id !== view.request_id) {
    throw new DecisionError('invalid_response', 'the server accepted the decision but answered with something unexpected', 200);
  }
  return result;
}
