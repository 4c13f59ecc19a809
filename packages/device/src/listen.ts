import { approvalScreen, displayText, ErrorCode, type Decision } from '@sigilauth/protocol';
import type { DeviceRequestView } from '@sigilauth/protocol/wire';
import { DecisionError, mergeViews, submitDecision } from './decisions.js';
import { DeviceSession, type SessionOptions } from './session.js';
import type { DeviceKey, PairedServer } from './keystore.js';
import { BUTTONS, layoutScreen, outcomeLine, type TerminalSize } from './screen.js';

/** How the listener answers requests that are waiting for this device. */
export type DecideMode =
  | { kind: 'auto'; decision: Decision }
  /**
   * Ask a person; resolve null to leave the request undecided. The signal aborts when the request
   * changes. `more` waits until the person has read a page of a screen taller than the terminal;
   * the question is asked only after the last page, which ends with the buttons.
   */
  | {
      kind: 'ask';
      ask: (view: DeviceRequestView, signal: AbortSignal) => Promise<Decision | null>;
      more?: (signal: AbortSignal) => Promise<void>;
    }
  /** Only display. */
  | { kind: 'none' };

export interface ListenerOptions {
  server: PairedServer;
  key: DeviceKey;
  mode: DecideMode;
  /** Writes one block of text to the user (stdout); always ends with a newline. */
  write: (text: string) => void;
  /** Writes a diagnostic (stderr); always ends with a newline. */
  warn: (text: string) => void;
  now?: () => number;
  /** How long after its expiry a request still shown as pending is asked about (its outcome comes from the server). */
  expiryGraceMs?: number;
  /** Overrides for the WebSocket session (backoff, timeouts). */
  session?: Pick<SessionOptions, 'minBackoffMs' | 'maxBackoffMs' | 'handshakeTimeoutMs' | 'livenessTimeoutMs'>;
  /** Sends a decision; defaults to submitDecision (tests may wrap it). */
  decide?: typeof submitDecision;
  /** The terminal's size, read each time a screen is shown; null (default) for output that is not a terminal. */
  terminal?: () => TerminalSize | null;
  /** Also raises a desktop notification for each new request and each outcome (--desktop-notify). */
  notify?: (title: string, body: string) => void;
}

interface Tracked {
  view: DeviceRequestView;
  /** No longer waits for a decision: ended, or expired on this device's clock. */
  finished: boolean;
  /** The outcome announced, always from a view the server signed; null until one arrives. */
  outcome: DeviceRequestView['status'] | null;
  deciding: boolean;
  /** Its screen has been printed at least once. */
  shown: boolean;
  expiryTimer: NodeJS.Timeout | null;
}

export const requestHeader = (id: string, updated = false) => `--- Request ${id}${updated ? ' (updated)' : ''} ---`;
export const announcement = (view: Pick<DeviceRequestView, 'status' | 'request_id'>) =>
  `${outcomeLine(view.status) ?? 'MPA request pending'} (request ${view.request_id})`;

/**
 * Stays connected to one server, shows each request naming this device on the approval screen,
 * keeps it up to date, decides according to the mode, and announces every outcome.
 */
export class Listener {
  private readonly tracked = new Map<string, Tracked>();
  private readonly session: DeviceSession;
  private readonly now: () => number;
  private readonly decide: typeof submitDecision;
  private askQueue: string[] = [];
  private asking: { id: string; controller: AbortController } | null = null;
  private stopped = false;
  private resolveDone!: () => void;
  private rejectDone!: (err: Error) => void;
  /** Settles when the listener stops: resolves after stop(), rejects if the server refuses this device. */
  readonly done: Promise<void>;

  constructor(private readonly options: ListenerOptions) {
    this.now = options.now ?? Date.now;
    this.decide = options.decide ?? submitDecision;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.session = new DeviceSession({
      ...options.session,
      server: options.server,
      key: options.key,
      now: this.now,
      onReady: ({ reconnected }) =>
        this.options.write(
          reconnected
            ? `Reconnected to ${options.server.url}.\n`
            : `Connected to ${options.server.url} as ${options.key.fingerprint}. Waiting for approval requests.\n`,
        ),
      onSync: (views) => this.onSync(views),
      onRequest: (view) => this.onView(view),
      onDisconnect: ({ reason, retryInMs }) =>
        this.options.warn(`Disconnected: ${reason}.${retryInMs === null ? '' : ` Reconnecting in ${(retryInMs / 1000).toFixed(1)} s.`}\n`),
      onInvalidMessage: (err) => this.options.warn(`Rejected a server message: ${err.message}; disconnecting.\n`),
      onFatal: (err) => {
        this.shutdown();
        this.rejectDone(err);
      },
    });
  }

  start(): this {
    this.session.start();
    return this;
  }

  async stop(): Promise<void> {
    this.shutdown();
    await this.session.close();
    this.resolveDone();
  }

  /** The latest view of every request seen, for callers that want to inspect state. */
  views(): DeviceRequestView[] {
    return [...this.tracked.values()].map((t) => t.view);
  }

  private shutdown(): void {
    this.stopped = true;
    for (const t of this.tracked.values()) if (t.expiryTimer) clearTimeout(t.expiryTimer);
    this.asking?.controller.abort();
    this.asking = null;
    this.askQueue = [];
  }

  private onSync(views: DeviceRequestView[]): void {
    const present = new Set(views.map((v) => v.request_id));
    for (const [id, t] of this.tracked) {
      if (!t.finished && !present.has(id)) {
        // It finished while we were away (or expired): the server only syncs pending requests.
        this.finish(t, null);
        this.options.write(`Request ${id} is no longer pending; asking the server for its outcome.\n`);
      }
    }
    this.options.write(`${views.length} pending request${views.length === 1 ? '' : 's'}.\n`);
    for (const view of views) this.onView(view);
    this.askOutcomes();
  }

  /** Asks the server for the signed view of every request shown without a known outcome (after each reconnect). */
  private askOutcomes(): void {
    const unknown = [...this.tracked.values()].filter((t) => t.finished && t.outcome === null).map((t) => t.view.request_id);
    if (unknown.length > 0) this.session.requestStatus(unknown);
  }

  private onView(incoming: DeviceRequestView): void {
    if (this.stopped) return;
    const id = incoming.request_id;
    const existing = this.tracked.get(id);
    if (!existing) {
      const t: Tracked = { view: incoming, finished: false, outcome: null, deciding: false, shown: false, expiryTimer: null };
      this.tracked.set(id, t);
      if (incoming.status !== 'pending') {
        this.finish(t, incoming);
        return;
      }
      this.armExpiry(t);
      this.show(t);
      const screen = approvalScreen(incoming, this.now());
      this.options.notify?.(screen.heading, screen.description);
      this.maybeDecide(t);
      return;
    }
    if (existing.finished) {
      // The outcome, once the server says what it was; announced once.
      if (existing.outcome === null && incoming.status !== 'pending') this.announce(existing, incoming);
      return;
    }
    const before = existing.view;
    existing.view = mergeViews(before, incoming);
    const after = existing.view;
    if (after.status !== 'pending') {
      this.finish(existing, after);
      return;
    }
    if (after.groups_satisfied_count !== before.groups_satisfied_count || after.my_decision !== before.my_decision) {
      this.show(existing);
      if (this.asking?.id === id) this.asking.controller.abort(); // re-ask under the new screen
    }
    this.maybeDecide(existing);
  }

  private needsDecision(t: Tracked): boolean {
    return !t.finished && t.view.status === 'pending' && t.view.my_decision === null;
  }

  /**
   * Prints the request's screen. When a person is asked, a screen that still needs an answer is
   * printed only right above its own question (see pumpQuestions), so the question on the
   * terminal always belongs to the screen just above it.
   */
  private show(t: Tracked, force = false): void {
    const { mode } = this.options;
    if (mode.kind === 'ask' && this.needsDecision(t) && !force) return;
    const pages = this.pages(t);
    this.options.write(`${pages.map((page) => page.join('\n')).join('\n')}\n\n`);
    t.shown = true;
  }

  /** The request's screen laid out for the terminal, its header first and its prompt last. */
  private pages(t: Tracked): string[][] {
    const { mode } = this.options;
    let prompt: string[] | undefined;
    if (mode.kind === 'none') prompt = [`To decide, run: sigil-device respond ${t.view.request_id} --approve (or --deny)`];
    if (mode.kind === 'auto') prompt = [`Auto-${mode.decision === 'approve' ? 'approving' : 'denying'}...`];
    if (mode.kind === 'ask' && this.askQueue.length > 0) {
      prompt = [BUTTONS, `(${this.askQueue.length} more request${this.askQueue.length === 1 ? '' : 's'} waiting)`];
    }
    return layoutScreen(t.view, {
      now: this.now(),
      size: this.options.terminal?.() ?? null,
      header: [requestHeader(t.view.request_id, t.shown)],
      ...(prompt ? { prompt } : {}),
    });
  }

  /** Prints a screen that needs an answer page by page, waiting for the person after each page but the last. */
  private async showForQuestion(
    t: Tracked,
    more: ((signal: AbortSignal) => Promise<void>) | undefined,
    signal: AbortSignal,
  ): Promise<void> {
    const pages = this.pages(t);
    t.shown = true;
    for (const [i, page] of pages.entries()) {
      signal.throwIfAborted();
      this.options.write(`${page.join('\n')}\n`);
      if (i < pages.length - 1 && more) await more(signal);
    }
  }

  /** Marks a request finished and announces its outcome (view null: outcome not known yet). */
  private finish(t: Tracked, view: DeviceRequestView | null): void {
    t.finished = true;
    if (t.expiryTimer) clearTimeout(t.expiryTimer);
    t.expiryTimer = null;
    this.askQueue = this.askQueue.filter((id) => id !== t.view.request_id);
    if (this.asking?.id === t.view.request_id) this.asking.controller.abort();
    if (view) this.announce(t, view);
  }

  private announce(t: Tracked, view: DeviceRequestView): void {
    t.view = view;
    t.outcome = view.status;
    this.options.write(`${announcement(view)}\n`);
    this.options.notify?.(outcomeLine(view.status) ?? 'MPA request finished', displayText(view.action.description));
  }

  /**
   * Past its expiry (and a grace) a request can no longer be decided. Its outcome is not guessed
   * here: it may have been approved just before, on a connection that was cut. The server is
   * asked; without a connection, it is asked after the next sync.
   */
  private armExpiry(t: Tracked): void {
    const due = Date.parse(t.view.expires_at) + (this.options.expiryGraceMs ?? 5000) - this.now();
    if (!Number.isFinite(due)) return;
    t.expiryTimer = setTimeout(
      () => {
        t.expiryTimer = null;
        if (t.finished || this.stopped) return;
        this.finish(t, null);
        this.options.write(`Request ${t.view.request_id} has expired; asking the server for its outcome.\n`);
        this.session.requestStatus([t.view.request_id]);
      },
      Math.max(0, Math.min(due, 2 ** 31 - 1)),
    );
    t.expiryTimer.unref();
  }

  private maybeDecide(t: Tracked): void {
    const { mode } = this.options;
    if (t.finished || t.deciding || t.view.status !== 'pending' || t.view.my_decision !== null) return;
    if (mode.kind === 'auto') {
      void this.send(t, mode.decision);
    } else if (mode.kind === 'ask') {
      if (!this.askQueue.includes(t.view.request_id) && this.asking?.id !== t.view.request_id) this.askQueue.push(t.view.request_id);
      // Next turn: a sync queues all its requests first, so the screen can say how many wait.
      setImmediate(() => this.pumpQuestions());
    }
  }

  private pumpQuestions(): void {
    const { mode } = this.options;
    if (mode.kind !== 'ask' || this.asking || this.stopped) return;
    const id = this.askQueue.shift();
    if (id === undefined) return;
    const t = this.tracked.get(id);
    if (!t || !this.needsDecision(t)) return this.pumpQuestions();
    const controller = new AbortController();
    this.asking = { id, controller };
    this.showForQuestion(t, mode.more, controller.signal)
      .then(() => mode.ask(t.view, controller.signal))
      .then(
        async (decision) => {
          if (this.asking?.controller === controller) this.asking = null;
          if (decision !== null && !controller.signal.aborted) await this.send(t, decision);
          this.pumpQuestions();
        },
        () => {
          // aborted (the request changed or finished): ask again if it still needs an answer
          if (this.asking?.controller === controller) this.asking = null;
          if (this.needsDecision(t) && !this.askQueue.includes(id)) this.askQueue.unshift(id);
          this.pumpQuestions();
        },
      );
  }

  private async send(t: Tracked, decision: Decision): Promise<void> {
    if (t.deciding || t.finished) return;
    t.deciding = true;
    const verb = decision === 'approve' ? 'approve' : 'deny';
    try {
      await this.decide(this.options.server, this.options.key, t.view, decision);
      // The HTTP answer is not signed, so nothing is taken from it but that the decision this
      // device signed was accepted: the screen says so, and the request's state comes from the
      // server's signed messages, asked for now.
      this.onView({ ...t.view, my_decision: decision });
      this.session.requestStatus([t.view.request_id]);
    } catch (err) {
      const message = err instanceof DecisionError ? err.message : `could not reach the server: ${(err as Error).message}`;
      this.options.warn(`Could not ${verb} request ${t.view.request_id}: ${message}\n`);
      if (err instanceof DecisionError && err.code === ErrorCode.request_completed) this.session.requestStatus([t.view.request_id]);
    } finally {
      t.deciding = false;
    }
  }
}
