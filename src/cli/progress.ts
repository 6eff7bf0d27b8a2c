// A one-line progress bar on stderr (redrawn in place on a terminal; a line every few seconds otherwise).
export class Progress {
  private last = 0;
  private readonly tty = !!process.stderr.isTTY;
  constructor(private readonly label: string, private readonly quiet = false) {}

  update(done: number, total: number, fields: Record<string, string>, elapsed: number): void {
    if (this.quiet) return;
    const now = performance.now();
    if (done < total && now - this.last < (this.tty ? 100 : 5000)) return;
    this.last = now;
    const frac = total ? Math.min(1, done / total) : 0;
    const width = 24, fill = Math.round(frac * width);
    const eta = frac > 0 ? elapsed * (1 - frac) / frac : NaN;
    const parts = Object.entries(fields).map(([k, v]) => `${k} ${v}`).join('  ');
    const line = `${this.label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${parts}  ETA ${fmt(eta)}`;
    if (this.tty) process.stderr.write(`\r${line}\x1b[K`);
    else process.stderr.write(`${line}\n`);
  }

  done(message?: string): void {
    if (this.quiet) return;
    if (this.tty) process.stderr.write('\r\x1b[K');
    if (message) process.stderr.write(`${message}\n`);
  }
}

export function fmt(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60), r = Math.round(s % 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}:${String(r).padStart(2, '0')}`;
}
