/**
 * Places for DNS lookups of names that integrators and devices choose. A system lookup holds one
 * of Node's four resolver threads until the system gives up, even after we stopped waiting for
 * it, and those threads also serve every other lookup (the database's host, the mail relay).
 * So such lookups hold at most `total` threads at once, and an organisation (its test mode
 * included) at most `perOrganisation` of them: a name server that never answers delays its own
 * organisation's lookups, not others'. (Two organisations doing that together hold both places.)
 */
export class LookupSlots {
  /** Lookups running in a place, by name: a burst of deliveries to one host makes one lookup. */
  readonly #running = new Map<string, Promise<unknown>>();
  /** Lookups waiting for a place, by organisation and name: joined by that organisation only. */
  readonly #queued = new Map<string, { lookup: Promise<unknown>; waiters: number; gaveUp: AbortController }>();
  #inUse = 0;
  readonly #byOrganisation = new Map<string, number>();
  readonly #waiting: Array<{ organisation: string; grant: () => void }> = [];

  constructor(
    readonly total = 2,
    readonly perOrganisation = 1,
  ) {}

  /**
   * Runs `lookup` of `name` in one of the organisation's places once one is free (failing when
   * `signal` aborts first), or joins the lookup of the same name already running, or already
   * waiting for this organisation (never another's wait: that would put one organisation's lookup
   * behind another's share). The place is held until the lookup ends, not until its caller stops
   * waiting.
   */
  run<T>(name: string, organisation: string, signal: AbortSignal, lookup: () => Promise<T>): Promise<T> {
    const running = this.#running.get(name);
    if (running) return running as Promise<T>;
    const key = `${organisation}\u0000${name}`;
    let queued = this.#queued.get(key);
    if (!queued) {
      const gaveUp = new AbortController();
      const pending = this.#acquire(organisation, gaveUp.signal).then((release) => {
        // Another organisation's lookup of the name may have started meanwhile.
        const meanwhile = this.#running.get(name);
        if (meanwhile) {
          release();
          return meanwhile;
        }
        const started = (async () => lookup())();
        this.#running.set(name, started);
        const done = () => {
          this.#running.delete(name);
          release();
        };
        started.then(done, done);
        return started;
      });
      const entry = { lookup: pending, waiters: 0, gaveUp };
      this.#queued.set(key, entry);
      const dequeue = () => this.#queued.get(key) === entry && this.#queued.delete(key);
      pending.then(dequeue, dequeue);
      queued = entry;
    }
    // The wait for a place is given up only when every caller waiting on it has given up.
    const entry = queued;
    entry.waiters++;
    const leave = () => --entry.waiters === 0 && entry.gaveUp.abort(signal.reason);
    if (signal.aborted) leave();
    else {
      signal.addEventListener('abort', leave, { once: true });
      const stay = () => signal.removeEventListener('abort', leave);
      entry.lookup.then(stay, stay);
    }
    return entry.lookup as Promise<T>;
  }

  /** Waits for a place (or until `signal` aborts); the returned function gives it back. */
  #acquire(organisation: string, signal: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const entry = {
        organisation,
        grant: () => {
          signal.removeEventListener('abort', abandon);
          this.#take(organisation);
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.#give(organisation);
          });
        },
      };
      const abandon = () => {
        const i = this.#waiting.indexOf(entry);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal.reason instanceof Error ? signal.reason : new Error('gave up waiting for a lookup'));
      };
      if (signal.aborted) return abandon();
      signal.addEventListener('abort', abandon, { once: true });
      this.#waiting.push(entry);
      this.#grantWaiting();
    });
  }

  #free(organisation: string): boolean {
    return this.#inUse < this.total && (this.#byOrganisation.get(organisation) ?? 0) < this.perOrganisation;
  }

  #take(organisation: string): void {
    this.#inUse++;
    this.#byOrganisation.set(organisation, (this.#byOrganisation.get(organisation) ?? 0) + 1);
  }

  #give(organisation: string): void {
    this.#inUse--;
    const n = (this.#byOrganisation.get(organisation) ?? 1) - 1;
    if (n > 0) this.#byOrganisation.set(organisation, n);
    else this.#byOrganisation.delete(organisation);
    this.#grantWaiting();
  }

  /** Grants places in arrival order, passing over those whose organisation is at its share. */
  #grantWaiting(): void {
    for (let i = 0; i < this.#waiting.length && this.#inUse < this.total;) {
      const entry = this.#waiting[i]!;
      if (!this.#free(entry.organisation)) {
        i++;
        continue;
      }
      this.#waiting.splice(i, 1);
      entry.grant();
    }
  }
}
