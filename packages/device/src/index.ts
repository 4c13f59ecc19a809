// The public surface of the device library, listed by hand: a new export is a decision.
export {
  ensureHome,
  KEY_FILE,
  KeystoreError,
  loadOrCreateDeviceKey,
  loadServers,
  normalizeServerUrl,
  resolveHome,
  savePairing,
  selectServer,
  SERVERS_FILE,
  writeFileAtomic,
  type DeviceKey,
  type PairedServer,
} from './keystore.js';
export { HTTP_TIMEOUT_MS, SigilApiError } from './http.js';
export {
  fetchServerInfo,
  normalizePairingCode,
  pairDevice,
  type PairingResponse,
  type PairOptions,
  type VerifiedServerInfo,
} from './pairing.js';
export { isDeviceRequestView } from '@sigilauth/protocol/wire';
export { MAX_SERVER_MESSAGE_BYTES, ServerMessageError, verifyServerMessage, type VerifyOptions } from './server-messages.js';
export {
  authMessage,
  backoffDelay,
  ConnectionError,
  DeviceSession,
  fetchPendingRequests,
  fetchRequestView,
  SessionRejectedError,
  webSocketUrl,
  type SessionHandlers,
  type SessionOptions,
} from './session.js';
export { DecisionError, displayedAction, mergeViews, signDecision, statusWord, submitDecision } from './decisions.js';
export {
  BUTTONS,
  layoutScreen,
  MIN_TERMINAL,
  renderScreen,
  summaryLine,
  terminalSize,
  wrapLine,
  type LayoutOptions,
  type ScreenOptions,
  type TerminalSize,
} from './screen.js';
export { announcement, Listener, requestHeader, type DecideMode, type ListenerOptions } from './listen.js';
export { VERSION } from './version.js';
