/**
 * The one place that writes: stdout carries data (human text or one JSON envelope), stderr
 * carries logs, warnings, progress and markers. Markers are written as one atomic line each.
 *
 * Untrusted text never reaches the terminal raw: human text is written through
 * {@link escapeLines} (every control, bidi and separator character but the newlines of the
 * layout is shown escaped), and one-line records (errors, hints, warnings, markers) through
 * {@link escapeText}, so a newline inside them cannot start a line of its own. The only escape
 * sequences written are nx's own: the colour of a record's label and the progress line.
 */
import type { ProgressEvent, Reporter } from "../core/api/mod.ts";
import { escapeJson, escapeLines, escapeText } from "./render/escape.ts";

export interface OutputOptions {
  json: boolean;
  markers: boolean;
  color: boolean;
  tty: boolean;
}

/** The labelled one-line records of stderr, and the SGR colour of their label. */
const LABEL_COLOUR = { error: "31", warning: "33", hint: undefined } as const;
export type RecordLabel = keyof typeof LABEL_COLOUR;

const encoder = new TextEncoder();

function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
}

const line = (text: string) => text.endsWith("\n") ? text : `${text}\n`;

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

  /** Data: human text (escaped, its newlines kept). */
  stdout(text: string): void {
    this.clearProgress();
    writeAll(Deno.stdout, line(escapeLines(text)));
  }

  /** Data: one JSON value on one line, every string in it exact ({@link escapeJson}). */
  json(value: unknown): void {
    this.clearProgress();
    writeAll(Deno.stdout, `${escapeJson(JSON.stringify(value))}\n`);
  }

  /** A log block on stderr (escaped, its newlines kept). */
  stderr(text: string): void {
    this.clearProgress();
    writeAll(Deno.stderr, line(escapeLines(text)));
  }

  /** `<label>: <body>` on stderr as exactly one line; only the label may be coloured. */
  record(label: RecordLabel, body: string): void {
    this.clearProgress();
    const sgr = LABEL_COLOUR[label];
    const head = sgr !== undefined && this.options.color ? `\x1b[${sgr}m${label}\x1b[0m` : label;
    writeAll(Deno.stderr, `${head}: ${escapeText(body)}\n`);
  }

  emit(event: ProgressEvent): void {
    switch (event.kind) {
      case "marker":
        // One buffer, one write(2) (< PIPE_BUF): a UART or pipe log never splits a marker line.
        // Escaped whole: whatever a marker embeds, it stays one line.
        if (this.options.markers) {
          this.clearProgress();
          writeAll(Deno.stderr, `${escapeText(event.text)}\n`);
        }
        return;
      case "warning":
        this.record("warning", `${event.message} (${event.code})`);
        return;
      case "progress": {
        if (!this.options.tty || this.options.json) return;
        // At most ~12 redraws a second, and always the last one.
        const now = performance.now();
        if (event.done < event.total && now - this.progressAt < 80) return;
        this.progressAt = now;
        writeAll(Deno.stderr, `\r${escapeText(event.phase)} ${event.done}/${event.total}\x1b[K`);
        this.progressShown = true;
        return;
      }
    }
  }

  private clearProgress(): void {
    if (this.progressShown) writeAll(Deno.stderr, "\r\x1b[K");
    this.progressShown = false;
  }
}
