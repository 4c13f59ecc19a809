const SGR = {
  bold: 1,
  dim: 2,
  red: 31,
  green: 32,
  yellow: 33,
  blue: 34,
  magenta: 35,
  cyan: 36,
  grey: 90,
} as const;

export type Style = keyof typeof SGR;

/** Who a line of output belongs to: a person's device, the app, or the server. */
export interface Speaker {
  name: string;
  colour: Style;
}

const LABEL_WIDTH = '[Sigil]'.length;
const CLEAR_LINE = '\r\x1b[2K';

/** Colours only on a terminal, and never when NO_COLOR is set to a non-empty value. */
export function useColour(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR ?? '') === '';
}

/**
 * All of the demo's output goes through here, so that a one-line status (the countdown) can sit
 * at the bottom of a terminal while other lines scroll above it.
 */
export class Terminal {
  readonly tty: boolean;
  readonly colour: boolean;
  private statusText: string | null = null;

  constructor(private readonly stream: NodeJS.WriteStream = process.stdout) {
    this.tty = stream.isTTY === true;
    this.colour = useColour(stream);
  }

  paint(text: string, ...styles: Style[]): string {
    if (!this.colour || styles.length === 0 || text === '') return text;
    return `\x1b[${[...new Set(styles)].map((s) => SGR[s]).join(';')}m${text}\x1b[0m`;
  }

  line(text = ''): void {
    if (this.statusText === null) {
      this.stream.write(`${text}\n`);
      return;
    }
    this.stream.write(`${CLEAR_LINE}${text}\n${this.statusText}`);
  }

  label(speaker: Speaker): string {
    return this.paint(`[${speaker.name}]`, speaker.colour, 'bold') + ' '.repeat(Math.max(0, LABEL_WIDTH - speaker.name.length - 2));
  }

  say(speaker: Speaker, text: string): void {
    this.line(text === '' ? this.paint(`[${speaker.name}]`, speaker.colour, 'bold') : `${this.label(speaker)} ${text}`);
  }

  narrate(text: string): void {
    this.line(this.paint(`» ${text}`, 'dim'));
  }

  heading(title: string, ...details: string[]): void {
    const rule = this.paint('━'.repeat(Math.min(78, this.columns())), 'bold');
    this.line();
    this.line(rule);
    this.line(this.paint(` ${title}`, 'bold'));
    for (const detail of details) this.line(` ${detail}`);
    this.line(rule);
  }

  /** Replaces the status line in place; a terminal only. */
  status(text: string): void {
    if (!this.tty) return;
    const plain = text.replace(/\x1b\[[0-9;]*m/g, '');
    const fitted = plain.length >= this.columns() ? `${plain.slice(0, this.columns() - 2)}…` : text;
    this.statusText = fitted;
    this.stream.write(`${CLEAR_LINE}${fitted}`);
  }

  clearStatus(): void {
    if (this.statusText === null) return;
    this.statusText = null;
    this.stream.write(CLEAR_LINE);
  }

  private columns(): number {
    return this.stream.columns || 80;
  }
}
