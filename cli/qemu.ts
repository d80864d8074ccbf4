/**
 * `nx qemu build|up|env|down|status|console`: a real x86_64 guest under QEMU whose package service
 * is `nx agent`, driven from this host with `nx pkg … --transport serial:…|tcp:…`
 * (core/qemu, docs/qemu.md). None of them touches a state root of this host.
 */
import { Command, Option } from "@commander-js/extra-typings";
import { fileURLToPath } from "node:url";
import { NxError } from "../core/errors.ts";
import { type GlobalOptions, runVerb } from "./common.ts";
import { identityPath } from "./connect.ts";
import { keyValues, table } from "./render/text.ts";

/** The repository the guest's code comes from (this file sits one level below it). */
const REPO = fileURLToPath(new URL("..", import.meta.url));
const env = (name: string) => Deno.env.get(name);
const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

function whole(value: string | undefined, option: string, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < min) {
    throw new NxError(
      "usage.invalid_argument",
      `cannot use ${option} ${value}: not a whole number ≥ ${min}`,
    );
  }
  return n;
}

const nameOption = () =>
  new Option("--name <name>", "the guest (default: default); several can run at once").default(
    "default",
  );

async function core() {
  return await import("../core/qemu/mod.ts");
}

function buildCommand() {
  return new Command("build")
    .description("build the guest image (kernel, initramfs, system disk) unless it is up to date")
    .action((opts) =>
      runVerb(opts as GlobalOptions, async (ctx) => {
        const q = await core();
        const started = performance.now();
        const image = await q.buildImage({
          repo: REPO,
          cache: q.cacheDir(env),
          log: (line) => ctx.out.log(line),
        });
        const seconds = Math.round((performance.now() - started) / 10) / 100;
        const said = image.upToDate
          ? `image ${image.hash} up to date`
          : `built image ${image.hash}`;
        return {
          message: said,
          data: { ...image, seconds },
          human: `${said}\n${
            keyValues([
              ["dir", image.dir],
              ["boot", image.boot === "pvh" ? "pvh (uncompressed vmlinux)" : "bzImage"],
              ["kernel", mib(image.bytes.kernel)],
              ["initrd", mib(image.bytes.initrd)],
              ["system", mib(image.bytes.system)],
              [
                "template",
                image.stateTemplate ?? "none (the warm-up boot failed: fresh guests start cold)",
              ],
              ["seconds", seconds],
            ])
          }`,
        };
      })
    );
}

const mib = (bytes: number) => `${(bytes / (1 << 20)).toFixed(1)} MiB`;

interface UpOpts extends GlobalOptions {
  name: string;
  fresh?: true;
  trust?: string[];
  trustStore?: string[];
  authorize?: string[];
  identity?: string;
  memory?: string;
  selftest?: true;
  accel: "tcg" | "kvm";
  timeout?: string;
}

function upCommand() {
  return new Command("up")
    .description(
      "start the guest in the background; returns once its agent answers on both transports",
    )
    .addOption(nameOption())
    .option("--fresh", "start from an empty state disk (a new root)")
    .addOption(
      new Option(
        "--trust <pub>",
        "a publisher key the guest's root trusts (repeatable; default: none)",
      )
        .argParser(collect),
    )
    .addOption(
      new Option(
        "--trust-store <pub>",
        "a store key the guest's root trusts to sign entitlements (repeatable; default: none)",
      ).argParser(collect),
    )
    .addOption(
      new Option(
        "--authorize <pub>",
        "a host key the guest's agent lets in (repeatable; default: the --identity key's public half)",
      ).argParser(collect),
    )
    .option(
      "--identity <file>",
      "the key this host pings the agent with (default: $NX_IDENTITY, else ~/.config/nx/identity.key)",
    )
    .option("--memory <mib>", "guest memory in MiB (default: 512)")
    .option("--selftest", "run `nx selftest` in the guest before its agent starts (nx.selftest=1)")
    .addOption(
      new Option("--accel <accel>", "tcg (emulation, works everywhere) or kvm").choices([
        "tcg",
        "kvm",
      ])
        .default("tcg"),
    )
    .option(
      "--timeout <seconds>",
      "give up when the agent does not answer within this long (default: 120)",
    )
    .action((opts) => runVerb(opts as GlobalOptions, (ctx) => up(opts as UpOpts, ctx)));
}

async function up(opts: UpOpts, ctx: import("./common.ts").VerbContext) {
  const q = await core();
  const { readPublicKeyText } = await import("../core/pkgr/keys.ts");
  const { hostSide } = await import("./connect.ts");
  const memoryMiB = whole(opts.memory, "--memory", 512, 128);
  const timeoutMs = whole(opts.timeout, "--timeout", 120) * 1000;
  const host = await hostSide({ identity: opts.identity });
  const authorize = opts.authorize?.length
    ? await Promise.all(opts.authorize.map(readPublicKeyText))
    : [await readPublicKeyText(identityPath({ identity: opts.identity }, env))];
  const trust = await Promise.all((opts.trust ?? []).map(readPublicKeyText));
  const trustStores = await Promise.all((opts.trustStore ?? []).map(readPublicKeyText));
  const r = await q.upVm({
    env,
    repo: REPO,
    cache: q.cacheDir(env),
    name: opts.name,
    fresh: opts.fresh === true,
    authorize,
    trust,
    trustStores,
    memoryMiB,
    selftest: opts.selftest === true,
    accel: opts.accel,
    timeoutMs,
    identity: host.identity,
    knownAgents: host.knownAgents,
    log: (line) => ctx.out.log(line),
    verbose: (line) => ctx.out.verbose(line),
  });
  const rec = r.record;
  const said = r.started
    ? `guest ${rec.name} is up (pkgr: ready after ${rec.bootSeconds} s)`
    : `guest ${rec.name} is running already`;
  return {
    message: said,
    data: {
      name: rec.name,
      serial: rec.serial,
      tcp: rec.tcp,
      pid: rec.pid,
      console: rec.console,
      bootSeconds: rec.bootSeconds,
      started: r.started,
      image: rec.image,
    },
    human: `${said}\n${
      keyValues([
        ["serial", rec.serial],
        ["tcp", rec.tcp],
        ["console", rec.console],
        ["pid", rec.pid],
      ])
    }\nnext: nx pkg list --transport ${rec.tcp}`,
  };
}

function downCommand() {
  return new Command("down")
    .description("power the guest off (ACPI), killing QEMU if it has not stopped within --timeout")
    .addOption(nameOption())
    .option("--timeout <seconds>", "how long the guest has to power off (default: 30)")
    .action((opts) =>
      runVerb(opts as GlobalOptions, async () => {
        const q = await core();
        const timeoutMs = whole(opts.timeout, "--timeout", 30) * 1000;
        const r = await q.downVm(env, opts.name, timeoutMs);
        const said = {
          "powered-off": `guest ${r.name} powered off`,
          "killed": `guest ${r.name} did not power off within ${timeoutMs / 1000} s: QEMU killed`,
          "not-running": `guest ${r.name} is not running`,
        }[r.outcome];
        return { message: said, data: r, human: said };
      })
    );
}

function statusCommand() {
  return new Command("status")
    .description("whether each guest runs: its pid, transports and uptime")
    .addOption(new Option("--name <name>", "only this guest (default: every guest)"))
    .action((opts) =>
      runVerb(opts as GlobalOptions, async () => {
        const q = await core();
        const guests = await q.vmStatus(env, opts.name);
        const running = guests.filter((g) => g.running).length;
        return {
          message: `${running} of ${guests.length} guest(s) running`,
          data: { guests },
          human: guests.length === 0 ? "no guests (start one: nx qemu up)" : table(
            ["name", "state", "pid", "uptime", "serial", "tcp"],
            guests.map((g) => [
              g.name,
              g.running ? "running" : "stopped",
              g.pid === null ? "-" : String(g.pid),
              g.uptimeSeconds === null ? "-" : `${g.uptimeSeconds}s`,
              g.serial ?? "-",
              g.tcp ?? "-",
            ]),
          ),
        };
      })
    );
}

/** A word the shell reads back as itself (single quotes, each ' closed and escaped). */
const shellWord = (text: string) =>
  /^[A-Za-z0-9_./:@%+=,-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;

function envCommand() {
  return new Command("env")
    .description(
      'print `export NX_TRANSPORT=…` for a running guest: eval "$(nx qemu env)" points nx pkg at it',
    )
    .addOption(nameOption())
    .option("--tcp", "the guest's hostfwd TCP port instead of its virtio-serial socket")
    .action((opts) =>
      runVerb(opts as GlobalOptions, async () => {
        const q = await core();
        const [guest] = await q.vmStatus(env, opts.name);
        const transport = opts.tcp ? guest.tcp : guest.serial;
        if (!guest.running || transport === null) {
          throw new NxError(
            "transport.unreachable",
            `cannot point at guest ${opts.name}: it is not running`,
            { hint: "start it: nx qemu up", details: { name: opts.name } },
          );
        }
        const line = `export NX_TRANSPORT=${shellWord(transport)}`;
        return {
          message: `guest ${opts.name}: ${transport}`,
          data: { name: opts.name, transport },
          human: line,
        };
      })
    );
}

function consoleCommand() {
  return new Command("console")
    .description("print the guest's console log (ttyS0: init, kernel and agent marker lines)")
    .addOption(nameOption())
    .option("--follow", "keep printing what the guest writes until its QEMU exits")
    .action((opts) =>
      runVerb(opts as GlobalOptions, async (ctx) => {
        const q = await core();
        const paths = q.guestPaths(env, opts.name);
        if (opts.follow && ctx.out.options.json) {
          throw new NxError("usage.invalid_argument", "cannot use --follow with --json");
        }
        let offset = 0;
        const print = async () => {
          const bytes = await q.readFrom(paths.console, offset);
          // Whole lines only: a line still being written is printed once it ends.
          const end = bytes.lastIndexOf(10) + 1;
          if (end > 0) {
            ctx.out.stdout(
              q.consoleLines(new TextDecoder().decode(bytes.subarray(0, end - 1))).join("\n"),
            );
          }
          offset += end;
        };
        if (!opts.follow) {
          const text = new TextDecoder().decode(await q.readFrom(paths.console, 0));
          const lines = q.consoleLines(text);
          if (lines.at(-1) === "") lines.pop();
          return {
            message: `${lines.length} console line(s) of guest ${opts.name}`,
            data: { name: opts.name, console: paths.console, lines },
            human: lines.join("\n"),
          };
        }
        for (;;) {
          await print();
          if ((await q.runningPid(paths)) === undefined) break;
          await new Promise((r) => setTimeout(r, 200));
        }
        await print();
        return { message: `guest ${opts.name} stopped`, data: { name: opts.name }, human: "" };
      })
    );
}

export function qemuCommand() {
  const qemu = new Command("qemu").description(
    "a QEMU guest whose package service is nx agent, driven from this host (docs/qemu.md)",
  );
  const verbs = [
    buildCommand(),
    upCommand(),
    envCommand(),
    downCommand(),
    statusCommand(),
    consoleCommand(),
  ];
  for (const c of verbs) {
    qemu.addCommand(c as unknown as Command);
  }
  return qemu;
}
