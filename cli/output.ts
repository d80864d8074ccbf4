/**
 * The one place that writes: stdout carries data (human text or one JSON envelope), stderr
 * carries logs, warnings, progress and markers. Markers are written as one atomic line each.
 *
 * Untrusted text never reaches the terminal raw: human text is written through
 * {@link escapeLines} (every control, bidi and separator character but the newlines of the
 * layout is shown escaped), and one-line records (errors, hints, warnings, markers) through
 * {@link escapeText}, so a newline inside them cannot start a line of its own. The only escape
 * sequences written are nx's own: the colour of a record's label and the progress line.
 *
 * How much goes to stderr is the verbosity: `quiet` keeps only errors (with their hints) and the
 * markers asked for; `verbose` adds a timed line per step (the reporter's markers and finished
 * progress phases, shown without their `pkgr: ` prefix so they never read as markers).
 */
import type { ProgressEvent, Reporter } from "../core/api/mod.ts";
import { escapeJson, escapeLines, escapeText } from "./render/escape.ts";

export const COLOR_WHEN = ["auto", "always", "never"] as const;
export type ColorWhen = typeof COLOR_WHEN[number];

export interface OutputOptions {
  json: boolean;
  markers: boolean;
  color: boolean;
  /** stderr is a terminal that can redraw a line (not `TERM=dumb`): progress is drawn. */
  tty: boolean;
  quiet: boolean;
  verbose: boolean;
}

/** What the command line and the environment say about output. */
export interface OutputRequest {
  json?: boolean;
  markers?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  color?: ColorWhen;
}

/**
 * Colour: `always`, `never`, or (`auto`) when stderr is a terminal, `NO_COLOR` is unset or empty
 * and `TERM` is not `dumb`. Progress redraws need a terminal that is not `dumb` either.
 */
export function decideOutput(
  request: OutputRequest,
  env: (name: string) => string | undefined,
  stderrIsTerminal: boolean,
): OutputOptions {
  const dumb = env("TERM") === "dumb";
  const noColor = (env("NO_COLOR") ?? "") !== "";
  const when = request.color ?? "auto";
  const quiet = request.quiet === true;
  return {
    json: request.json === true,
    markers: request.markers === true || env("NX_MARKERS") === "1",
    color: when === "always" || (when === "auto" && stderrIsTerminal && !noColor && !dumb),
    tty: stderrIsTerminal && !dumb && !quiet,
    quiet,
    verbose: request.verbose === true && !quiet,
  };
}

/** The labelled one-line records of stderr, and the SGR colour of their label. */
const LABEL_COLOUR = { error: "31", warning: "33", hint: undefined, verbose: "2" } as const;
export type RecordLabel = keyof typeof LABEL_COLOUR;

const encoder = new TextEncoder();

/** Writes all of `text`; a reader that went away (`nx … | head`) ends the writing quietly. */
function writeAll(stream: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let written = 0;
  try {
    while (written < bytes.length) written += stream.writeSync(bytes.subarray(written));
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
  }
}

/** Help and version text (commander's own output) on stdout. */
export function writeStdout(text: string): void {
  writeAll(Deno.stdout, text);
}

const line = (text: string) => text.endsWith("\n") ? text : `${text}\n`;

export class Output implements Reporter {
  private progressShown = false;
  private progressAt = 0;
  private readonly startedAt = performance.now();
  constructor(readonly options: OutputOptions) {}

  static detect(request: OutputRequest): Output {
    return new Output(decideOutput(request, (n) => Deno.env.get(n), Deno.stderr.isTerminal()));
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

  /** A block on stderr (escaped, its newlines kept), whatever the verbosity (help, a stack). */
  stderr(text: string): void {
    this.clearProgress();
    writeAll(Deno.stderr, line(escapeLines(text)));
  }

  /** A human log block on stderr: not with `--json`, not with `--quiet`. */
  log(text: string): void {
    if (!this.options.json && !this.options.quiet) this.stderr(text);
  }

  /** One `verbose:` line with the time since the command started, only with `--verbose`. */
  verbose(text: string): void {
    if (!this.options.verbose) return;
    const seconds = ((performance.now() - this.startedAt) / 1000).toFixed(3);
    this.record("verbose", `+${seconds}s ${text}`);
  }

  /** `<label>: <body>` on stderr as exactly one line; only the label may be coloured. */
  record(label: RecordLabel, body: string): void {
    if (this.options.quiet && label !== "error" && label !== "hint") return;
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
        this.verbose(event.text.replace(/^pkgr: /, ""));
        return;
      case "warning":
        this.record("warning", `${event.message} (${event.code})`);
        return;
      case "progress": {
        if (event.done >= event.total && this.options.verbose) {
          this.verbose(`${event.phase} ${event.done}/${event.total}`);
          return;
        }
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
