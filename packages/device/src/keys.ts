/**
 * Single keys from a terminal in raw mode: a person answers with one key, without Enter. Keys
 * typed while nothing is asked are dropped, so a key pressed early never answers a question
 * that appears later. Ctrl-C and Ctrl-D (raw mode turns off their signals) stop the caller.
 */
export class KeyReader {
  private waiting: ((key: string) => void) | null = null;
  /** The rest of a chunk whose first key answered a question: for the questions asked right after it. */
  private rest: string[] = [];
  private readonly onData = (chunk: Buffer) => {
    const keys = [...chunk.toString('utf8')];
    if (keys.some((key) => key === '\u0003' || key === '\u0004')) return this.onInterrupt();
    // Typed while nothing was asked: dropped, so it cannot answer a question that appears later.
    if (!this.waiting) return;
    this.rest = keys;
    this.deliver();
    // Keys typed together (or faster than the screen) reach only the questions of this moment.
    setImmediate(() => (this.rest = []));
  };

  private deliver(): void {
    while (this.waiting && this.rest.length > 0) {
      const resolve = this.waiting;
      this.waiting = null;
      resolve(this.rest.shift()!);
    }
  }

  constructor(
    private readonly input: NodeJS.ReadStream,
    private readonly onInterrupt: () => void,
  ) {
    input.setRawMode(true);
    input.on('data', this.onData);
    input.resume();
  }

  /** The next key pressed, lower-cased; rejects when the signal aborts. */
  next(signal: AbortSignal): Promise<string> {
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.waiting = null;
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiting = (key) => {
        signal.removeEventListener('abort', onAbort);
        resolve(key.toLowerCase());
      };
      this.deliver();
    });
  }

  close(): void {
    this.input.off('data', this.onData);
    if (this.input.isTTY) this.input.setRawMode(false);
    this.input.pause();
  }
}
