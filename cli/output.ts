/**
 * The one place that writes: stdout carries data (human text or one JSON envelope), stderr
 * carries logs, warnings, progress and markers. Markers are written as one atomic line each.
 */
import type { ProgressEvent, Reporter } from "../core/pkgr/mod.ts";

export interface OutputOptions {
  json: boolean;
  markers: boolean;
  color: boolean;
  tty: boolean;
}

const encoder = new TextEncoder();

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
}

export class Output implements Reporter {
  private progressShown = false;
  private progressAt = 0;
  constructor(readonly options: OutputOptions) {}

  static detect(json: boolean, markersFlag: boolean): Output {
    const tty = Deno.stderr.isTerminal();
    const noColor = (Deno.env.get("NO_COLOR") ?? "") !== "";
    return new Output({
      json,
      markers: markersFlag || Deno.env.get("NX_MARKERS") === "1",
      color: tty && !noColor,
      tty,
    });
  }

  stdout(text: string): void {
    this.clearProgress();
    writeAll(Deno.stdout, text.endsWith("\n") ? text : `${text}\n`);
  }

  stderr(text: string): void {
    this.clearProgress();
    writeAll(Deno.stderr, text.endsWith("\n") ? text : `${text}\n`);
  }

  emit(event: ProgressEvent): void {
    switch (event.kind) {
      case "marker":
        // One buffer, one write(2) (< PIPE_BUF): a UART or pipe log never splits a marker line.
        if (this.options.markers) this.stderr(event.text);
        return;
      case "warning":
        this.stderr(`${this.paint("warning", "33")}: ${event.message} (${event.code})`);
        return;
      case "progress": {
        if (!this.options.tty || this.options.json) return;
        // At most ~12 redraws a second, and always the last one.
        const now = performance.now();
        if (event.done < event.total && now - this.progressAt < 80) return;
        this.progressAt = now;
        writeAll(Deno.stderr, `\r${event.phase} ${event.done}/${event.total}\x1b[K`);
        this.progressShown = true;
        return;
      }
    }
  }

  private clearProgress(): void {
    if (this.progressShown) writeAll(Deno.stderr, "\r\x1b[K");
    this.progressShown = false;
  }

  paint(text: string, sgr: string): string {
    return this.options.color ? `\x1b[${sgr}m${text}\x1b[0m` : text;
  }
}
