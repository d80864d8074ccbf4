/**
 * The entitlement gate's cost (issue 11), whole process through bin/nx:
 *
 * - `nx pkg install` of the paid fixture ledger-1.0.0 (sku ledger.pro) against the same install
 *   of a bundle identical but for the sku (the fixture's source without its `sku = …` line, both
 *   packed with the store key), each into a fresh `cp -a` copy of one root that trusts the store
 *   key and the dev store's licensing key and holds an entitlement for its device (copied, not
 *   timed). The two differ by the gate alone. Target: ≤ 1.05×.
 * - `nx pkg launch --check ledger` against `nx --version`: start-up, a read session, the
 *   registry record and the gate over the ledger. The issue names no number; the expectation
 *   here is list's (≤ 1.5× `nx --version`, docs/performance.md): `--version` is the floor of
 *   every verb, and the check reads one app where list reads 1,000. Info rows: against the same
 *   check of the free copy (the gate on launch) and `nx pkg list --json` on the same root (a read
 *   session's fixed cost).
 *
 * Where the gate's time goes: requireEntitlement() first called in a fresh process, and split
 * (device key, ledger read, decode, evaluate), each against the free install; in process (warm),
 * the call an install makes, and the gate over 1, 10 and 1,000 tokens.
 */
import { join } from "node:path";
import { COLD_MODES, type ColdMode, type ColdTimes } from "./_licensed_cold.ts";
import {
  decodeAndEvaluate,
  gateInSession,
  type Ledger,
  ledgerOf,
  readDecodeEvaluate,
} from "./_licensed_gate.ts";
import {
  APP,
  expectLedgerInstalled,
  ledgerBundles,
  licensedTemplate,
  SKU,
} from "./_licensed_setup.ts";
import {
  firstCalls,
  median,
  type Metric,
  metric,
  type Outcome,
  runProcess,
  sample,
  type Side,
  type Suite,
} from "./_measure.ts";
import { cloneRoot, denoRun, expectOkEnvelope, nxCmd, nxOk } from "./_nx.ts";

const SUITE = "licensed";
const COLD_SCRIPT = new URL("./_licensed_cold.ts", import.meta.url).pathname;

/** The parts of the cold split, in the order the gate runs them. */
const PARTS: [key: string, label: string][] = [
  ["device", "readDevice(): read pkg/device.key, decode the PEM, derive the public key (noble)"],
  ["ledger-read", "registry.ledger.read(ledger): one libSQL batch (tokens, status changes)"],
  ["decode", "decodeRecord() of each row: strict Cap'n Proto decode, re-encode, SHA-256 id"],
  ["evaluate", "evaluate(): the pure fold over the facts"],
];

const paired = (a: number[], b: number[], f: (x: number, y: number) => number) =>
  median(a.map((x, i) => f(x, b[i])));

export const licensedSuite: Suite = {
  name: SUITE,
  summary: "the entitlement gate: install of the paid ledger vs the same without a sku; " +
    "nx pkg launch --check vs nx --version",
  async run(ctx) {
    const bundles = await ledgerBundles(ctx.scratch);
    const { root: template, device } = await licensedTemplate(ctx.scratch);
    let seq = 0;
    const firstTime = firstCalls();

    // 1. Installs, paid and free, each into a fresh copy of the template.
    const install = (key: "paid" | "free"): Side => async () => {
      const dir = join(ctx.scratch, `${key}-${seq++}`);
      await Deno.mkdir(dir);
      const root = await cloneRoot(template, join(dir, "root"));
      const run = await runProcess(
        nxCmd(["pkg", "install", bundles[key], "--root", root, "--json"]),
      );
      if (firstTime(key)) {
        expectOkEnvelope(run.stdout, `nx pkg install (${key})`);
        await expectLedgerInstalled(root, key === "paid" ? SKU : undefined);
      }
      await Deno.remove(dir, { recursive: true });
      return run.ms;
    };
    ctx.log("licensed: install of ledger, paid vs without a sku; whole processes");
    const installs = await sample(ctx.plan, { paid: install("paid"), free: install("free") });

    // 2. launch --check on roots holding the paid and the free ledger.
    const launchRoot = async (key: "paid" | "free") => {
      const root = await cloneRoot(template, join(ctx.scratch, `launch-${key}`));
      await nxOk(["pkg", "install", bundles[key]], root);
      await expectLedgerInstalled(root, key === "paid" ? SKU : undefined);
      return root;
    };
    const roots = { paid: await launchRoot("paid"), free: await launchRoot("free") };
    const check = (root: string) =>
      nxCmd(["pkg", "launch", "--check", APP, "--root", root, "--json"]);
    const checked = (key: "paid" | "free"): Side => async () => {
      const run = await runProcess(check(roots[key]));
      if (firstTime(`check-${key}`)) {
        expectOkEnvelope(run.stdout, `nx pkg launch --check (${key})`);
        if (JSON.parse(run.stdout).data.launched !== false) {
          throw new Error("cannot measure launch --check: it launched");
        }
      }
      return run.ms;
    };
    const list = nxCmd(["pkg", "list", "--root", roots.paid, "--json"]);
    ctx.log("licensed: nx pkg launch --check vs nx --version and list; whole processes");
    const launches = await sample(ctx.plan, {
      paid: checked("paid"),
      free: checked("free"),
      version: async () => (await runProcess(nxCmd(["--version"]))).ms,
      list: async () => (await runProcess(list)).ms,
    });

    // 3. The gate in a fresh process: whole and split.
    const cold: Record<ColdMode, ColdTimes[]> = { gate: [], parts: [] };
    const coldSides = Object.fromEntries(COLD_MODES.map((mode) => [mode, async () => {
      const run = await runProcess(denoRun(COLD_SCRIPT, [mode, template]));
      const times = JSON.parse(run.stdout) as ColdTimes;
      cold[mode].push(times);
      return run.ms;
    }])) as Record<ColdMode, Side>;
    ctx.log("licensed: the gate's first call in a fresh process (deno run _licensed_cold.ts)");
    await sample(ctx.plan, coldSides);
    const coldOf = (mode: ColdMode, key: string) =>
      cold[mode].slice(ctx.plan.warmup).map((t) => t[key]);

    // 4. In process, warm: the install's call, and the gate over 1, 10 and 1,000 tokens.
    ctx.log("licensed: in-process gate; ledgers of many tokens (issued and imported, untimed)");
    const counts = ctx.quick ? [1, 10, 100] : [1, 10, 1000];
    const ledgers: Ledger[] = [];
    for (const n of counts) ledgers.push(await ledgerOf(ctx.scratch, device, n));
    const micro: Record<string, Side> = { gate: () => gateInSession(template) };
    for (const l of ledgers) {
      micro[`decode-${l.count}`] = () => decodeAndEvaluate(l);
      micro[`read-${l.count}`] = () => readDecodeEvaluate(l);
    }
    let warm: Record<string, number[]>;
    try {
      warm = await sample(ctx.plan, micro);
    } finally {
      for (const l of ledgers) l.registry.close();
    }

    const freeInstall = {
      floorLabel: "the free install's whole process, same run (ratio: the share of an install " +
        "this part would add; the gate's target allows 0.05)",
      floor: installs.free,
    };
    const gateTarget = { kind: "max_ratio", max: 1.05, appliesTo: "whole-process" } as const;
    const gateMs = median(installs.paid) - median(installs.free);
    const outcomes: Outcome[] = [
      metric({
        suite: SUITE,
        name: "install ledger-1.0.0 (sku ledger.pro, entitled) vs the same bundle without a sku",
        unit: "ms",
        nxLabel: "bin/nx pkg install ledger-1.0.0-paid.nxb --root <fresh copy of the licensed " +
          "root> --json (the entitlement gate runs)",
        wholeProcess: installs.paid,
        floorLabel: "bin/nx pkg install ledger-1.0.0-free.nxb (the same source without its " +
          "sku line, same key) into a fresh copy of the same root: no gate",
        floor: installs.free,
        target: gateTarget,
        notes: [
          `gate cost: ${gateMs.toFixed(1)} ms (difference of medians); median of the paired ` +
          `differences ${paired(installs.paid, installs.free, (a, b) => a - b).toFixed(1)} ms, ` +
          `of the paired ratios ${
            paired(installs.paid, installs.free, (a, b) => a / b).toFixed(3)
          }×`,
          "both roots trust store.pub (publisher) and licensing.pub (store key), have the same " +
          "device and one imported ledger.pro token; the bundles differ by the sku alone",
        ],
      }),
      coldRow("requireEntitlement(), first call in a fresh process", coldOf("gate", "gate"), [
        `the same call again in that process: ${median(coldOf("gate", "gate.warm")).toFixed(2)} ms`,
        "the exact call an install of a bundle with a sku makes (core/pkgr/entitlement_gate.ts), " +
        "in a read session on the licensed root opened untimed before it",
      ]),
      ...PARTS.map(([key, label]) =>
        coldRow(`gate split, first call in a fresh process: ${key}`, coldOf("parts", key), [
          label,
          `second call in that process: ${median(coldOf("parts", `${key}.warm`)).toFixed(2)} ms`,
        ])
      ),
      metric({
        suite: SUITE,
        name: "requireEntitlement() in process (warm)",
        unit: "ms",
        nxLabel: "requireEntitlement() for ledger.pro in a read session on the licensed root, " +
          "warm JIT (the session is untimed)",
        inProcess: warm.gate,
        ...freeInstall,
      }),
      ...ledgers.flatMap((l) => [
        metric({
          suite: SUITE,
          name: `gate over ${l.count} token(s): decodeRecord + evaluate (in-process)`,
          unit: "ms",
          nxLabel: `decodeRecord() of ${l.count} ledger.pro token file(s), then evaluate(), warm`,
          inProcess: warm[`decode-${l.count}`],
          ...freeInstall,
        }),
        metric({
          suite: SUITE,
          name: `gate over ${l.count} token(s): ledger read + decode + evaluate (in-process)`,
          unit: "ms",
          nxLabel: `ledgerFacts() (libSQL read of ${l.count} rows + decode) and evaluate(), ` +
            "warm, on a registry the tokens were imported into",
          inProcess: warm[`read-${l.count}`],
          ...freeInstall,
        }),
      ]),
      ...launchRows(launches),
    ];
    return outcomes;

    function coldRow(name: string, samples: number[], notes: string[]): Metric {
      return metric({
        suite: SUITE,
        name: `${name} (in-process)`,
        unit: "ms",
        nxLabel: `deno run _licensed_cold.ts: ${name}`,
        inProcess: samples,
        ...freeInstall,
        notes,
      });
    }
  },
};

function launchRows(l: Record<"paid" | "free" | "version" | "list", number[]>): Metric[] {
  const nxLabel = "bin/nx pkg launch --check ledger --root <root with the paid ledger, entitled> " +
    "--json: start-up, read session, registry record, the gate";
  return [
    metric({
      suite: SUITE,
      name: "launch --check ledger vs nx --version",
      unit: "ms",
      nxLabel,
      wholeProcess: l.paid,
      floorLabel: "bin/nx --version: start-up + nx module graph, no work",
      floor: l.version,
      target: { kind: "max_ratio", max: 1.5, appliesTo: "whole-process" },
      notes: [
        "the issue names no number: this suite expects what list of 1,000 apps is held to " +
        "against the same floor (≤ 1.5×); the check reads one app and its ledger",
      ],
    }),
    metric({
      suite: SUITE,
      name: "launch --check ledger, paid vs free",
      unit: "ms",
      nxLabel,
      wholeProcess: l.paid,
      floorLabel: "the same check on a root holding the free copy: no gate",
      floor: l.free,
      notes: [`the gate on launch: ${(median(l.paid) - median(l.free)).toFixed(1)} ms`],
    }),
    metric({
      suite: SUITE,
      name: "launch --check ledger vs list --json (same root, 1 app)",
      unit: "ms",
      nxLabel,
      wholeProcess: l.paid,
      floorLabel: "bin/nx pkg list --json on the same root: start-up, service + libSQL load, " +
        "registry open, one app; list also reads the device key and the ledger (to show " +
        "inactive apps), so it pays the device part of the gate too",
      floor: l.list,
    }),
  ];
}
