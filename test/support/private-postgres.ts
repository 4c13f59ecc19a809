import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { postgresBinDir } from './postgres.js';
import { freePort } from './processes.js';

/**
 * A PostgreSQL server of the caller's own (initdb in a temp directory, an ephemeral loopback
 * port), of the test server's version, so stopping or restarting it disturbs no other test and
 * never the shared server. initdb refuses to run as root: as root it runs as the `postgres` user.
 */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly bin: string,
  ) {}

  static async start(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-pg-'));
    chmodSync(dir, 0o700);
    if (userInfo().uid === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(dir, uid, gid);
    }
    const pg = new PrivatePostgres(dir, await freePort(), await postgresBinDir());
    pg.run(`${pg.bin}/initdb`, ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    pg.start();
    return pg;
  }

  private run(cmd: string, args: string[]): void {
    if (userInfo().uid === 0) execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'ignore', timeout: 60_000 });
    else execFileSync(cmd, args, { stdio: 'ignore', timeout: 60_000 });
  }

  private get options(): string {
    return `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
  }

  start(): void {
    this.run(`${this.bin}/pg_ctl`, ['-D', join(this.dir, 'data'), '-w', '-l', join(this.dir, 'log'), '-o', this.options, 'start']);
  }

  /** A fast shutdown: every open session is terminated (57P01), as `pg_ctlcluster ... restart` does. */
  stop(): void {
    this.run(`${this.bin}/pg_ctl`, ['-D', join(this.dir, 'data'), '-w', '-m', 'fast', 'stop']);
  }

  /** A fast restart, without blocking the caller's event loop (its clients keep running meanwhile). */
  async restart(): Promise<void> {
    const args = ['-D', join(this.dir, 'data'), '-w', '-m', 'fast', '-l', join(this.dir, 'log'), '-o', this.options, 'restart'];
    const [cmd, argv] =
      userInfo().uid === 0 ? ['runuser', ['-u', 'postgres', '--', `${this.bin}/pg_ctl`, ...args]] : [`${this.bin}/pg_ctl`, args];
    await promisify(execFile)(cmd as string, argv as string[], { timeout: 60_000 });
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  destroy(): void {
    try {
      this.stop();
    } catch {
      // already stopped
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
