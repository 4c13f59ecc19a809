/**
 * Optional desktop notifications for `sigil-device listen --desktop-notify`: raised with
 * `notify-send` (libnotify) where it is installed, run without a shell, the texts passed as
 * arguments. Only the screen's heading and description are shown; deciding stays in the terminal.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export type DesktopNotifier = (title: string, body: string) => void;

/** The notify-send on PATH, or null. */
export function findNotifySend(path = process.env.PATH ?? ''): string | null {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'notify-send');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function notifySend(binary: string, onError: (message: string) => void): DesktopNotifier {
  return (title, body) => {
    execFile(binary, ['--app-name=Sigil', '--', title.slice(0, 200), body.slice(0, 500)], { timeout: 5_000 }, (err) => {
      if (err) onError(`notify-send failed: ${err.message}`);
    });
  };
}
