/**
 * Places for DNS lookups of names that integrators and devices choose. A system lookup holds one
 * of Node's four resolver threads until the system gives up, even after we stopped waiting for
 * it, and those threads also serve every other lookup (the database's host, the mail relay).
 * So such lookups hold at most `total` threads at once, and an organisation at most `perTenant`
 * of them: a name server that never answers delays its own organisation's lookups, not others'.
 */
export class LookupSlots {
  /** Lookups running in a place, by name: a burst of deliveries to one host makes one lookup. */
  readonly #running = new Map<string, Promise<unknown>>();
  /** Lookups waiting for a place, by organisation and name: joined by that organisation only. */
  readonly #queued = new Map<string, Promise<unknown>>();
  #inUse = 0;
  readonly #byTenant = new Map<string, number>();
  readonly #waiting: Array<{ tenant: string; grant: () => void }> = [];

  constructor(
    readonly total = 2,
    readonly perTenant = 1,
  ) {}

  /**
   * Runs `lookup` of `name` in one of the organisation's places once one is free (failing when
   * `signal` aborts first), or joins the lookup of the same name already running, or already
   * waiting for this organisation (never another's wait: that would put one organisation's lookup
   * behind another's share). The place is held until the lookup ends, not until its caller stops
   * waiting.
   */
  run<T>(name: string, tenant: string, signal: AbortSignal, lookup: () => Promise<T>): Promise<T> {
    const key = `${tenant}\u0000${name}`;
    const joined = this.#running.get(name) ?? this.#queued.get(key);
    if (joined) return joined as Promise<T>;
    const pending = this.acquire(tenant, signal).then((release) => {
      const started = this.#running.get(name);
      if (started) {
        release();
        return started as Promise<T>;
      }
      const running = (async () => lookup())();
      this.#running.set(name, running);
      const done = () => {
        this.#running.delete(name);
        release();
      };
      running.then(done, done);
      return running;
    });
    this.#queued.set(key, pending);
    const dequeue = () => this.#queued.delete(key);
    pending.then(dequeue, dequeue);
    return pending;
  }

  /** Waits for a place (or until `signal` aborts); the returned function gives it back. */
  acquire(tenant: string, signal: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      const entry = {
        tenant,
        grant: () => {
          signal.removeEventListener('abort', abandon);
          this.#take(tenant);
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.#give(tenant);
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

  #free(tenant: string): boolean {
    return this.#inUse < this.total && (this.#byTenant.get(tenant) ?? 0) < this.perTenant;
  }

  #take(tenant: string): void {
    this.#inUse++;
    this.#byTenant.set(tenant, (this.#byTenant.get(tenant) ?? 0) + 1);
  }

  #give(tenant: string): void {
    this.#inUse--;
    const n = (this.#byTenant.get(tenant) ?? 1) - 1;
    if (n > 0) this.#byTenant.set(tenant, n);
    else this.#byTenant.delete(tenant);
    this.#grantWaiting();
  }

  /** Grants places in arrival order, passing over those whose organisation is at its share. */
  #grantWaiting(): void {
    for (let i = 0; i < this.#waiting.length && this.#inUse < this.total;) {
      const entry = this.#waiting[i]!;
      if (!this.#free(entry.tenant)) {
        i++;
        continue;
      }
      this.#waiting.splice(i, 1);
      entry.grant();
    }
  }
}
