/**
 * Single keys from a terminal in raw mode: a person answers with one key, without Enter. Keys
 * typed while nothing is asked are dropped, so a key pressed early never answers a question
 * that appears later. Ctrl-C and Ctrl-D (raw mode turns off their signals) stop the caller.
 */
export class KeyReader {
  private waiting: ((key: string) => void) | null = null;
  private readonly onData = (chunk: Buffer) => {
    for (const key of chunk.toString('utf8')) {
      if (key === '\u0003' || key === '\u0004') return this.onInterrupt();
      const resolve = this.waiting;
      this.waiting = null;
      resolve?.(key);
    }
  };

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
    });
  }

  close(): void {
    this.input.off('data', this.onData);
    if (this.input.isTTY) this.input.setRawMode(false);
    this.input.pause();
  }
}
