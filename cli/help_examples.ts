/**
 * The "Examples:" section of each command's `--help`, by command path below `nx` ("" is `nx`
 * itself). tests/usage_test.ts checks that every command has one and that each example names
 * its command and only options the command takes.
 */
import { COMPLETION_INSTALL } from "./completion_install.ts";

export const EXAMPLES: Readonly<Record<string, readonly string[]>> = {
  "": [
    "nx demo                                   # the whole lifecycle on a demo root",
    "nx pkg install notes.nxb --dry-run        # what an install would do",
    "nx help pkg install                       # the help of one command",
  ],
  "pkg": ["nx pkg list", "nx pkg install notes.nxb", "nx pkg trust add me.pub --name me"],
  "pkg init": ["nx pkg init --root /srv/nx/root", "nx pkg init --json"],
  "pkg keygen": ["nx pkg keygen --out ~/.nx-keys --name me"],
  "pkg pack": [
    "nx pkg pack ./notes --key ~/.nx-keys/me.key              # writes ./notes.nxb",
    "nx pkg pack ./notes --key ~/.nx-keys/me.key --out dist/notes-1.0.0.nxb --force",
  ],
  "pkg inspect": ["nx pkg inspect notes.nxb --files", "nx pkg inspect notes.nxb --json"],
  "pkg verify": ["nx pkg verify notes.nxb", "nx pkg verify notes.nxb --markers --root /tmp/root"],
  "pkg install": [
    "nx pkg install notes.nxb --dry-run        # the plan and the permissions; changes nothing",
    "nx pkg install notes.nxb",
    "nx pkg install notes.nxb --reinstall      # put the files of the installed version back",
    "nx pkg install notes.nxb --transport tcp:127.0.0.1:7070   # on an nx agent's root",
  ],
  "pkg upgrade": [
    "nx pkg upgrade notes-1.1.0.nxb --dry-run",
    "nx pkg upgrade notes-1.1.0.nxb",
    "nx pkg upgrade notes-1.0.0.nxb --allow-downgrade   # needs the root's dev-mode",
  ],
  "pkg rollback": ["nx pkg rollback notes", "nx pkg rollback notes --to 1.0.0"],
  "pkg uninstall": [
    "nx pkg uninstall notes --dry-run          # what is removed and kept, with sizes",
    "nx pkg uninstall notes                    # keeps its data for a later install",
    "nx pkg uninstall notes --purge            # deletes its data too",
  ],
  "pkg repair": ["nx pkg repair notes --dry-run", "nx pkg repair notes"],
  "pkg clear-data": ["nx pkg clear-data notes --dry-run", "nx pkg clear-data notes"],
  "pkg list": [
    "nx pkg list",
    "nx pkg list --json",
    "nx pkg list --transport tcp:10.0.2.15:7070 --identity ~/.config/nx/identity.key",
    "nx pkg list --targets fleet.txt --parallel 8   # every agent listed in fleet.txt",
  ],
  "pkg info": ["nx pkg info notes", "nx pkg info notes --files"],
  "pkg history": ["nx pkg history", "nx pkg history notes --limit 5"],
  "pkg query": ["nx pkg query --ability notes.open", "nx pkg query --export app.notes.SHARE"],
  "pkg doctor": ["nx pkg doctor", "nx pkg doctor --repair"],
  "pkg trust": ["nx pkg trust list", "nx pkg trust add me.pub --name me"],
  "pkg trust add": [
    "nx pkg trust add me.pub --name me",
    "nx pkg trust add me-2026.pub --publisher me   # key rotation: a second key of publisher me",
  ],
  "pkg trust remove": ["nx pkg trust remove me"],
  "pkg trust list": ["nx pkg trust list", "nx pkg trust list --json"],
  "pkg policy": ["nx pkg policy show", "nx pkg policy set mode permissive"],
  "pkg policy show": ["nx pkg policy show", "nx pkg policy show --json"],
  "pkg policy set": ["nx pkg policy set mode permissive", "nx pkg policy set dev-mode on"],
  "pkg launch": [
    "nx pkg launch notes                       # runs notes' program in its data directory",
    "nx pkg launch notes -- today.txt          # arguments for the program after --",
    "nx pkg launch ledger --check              # exit 0 if it may launch, else the refusal's code",
  ],
  "licensed": ["nx licensed list", "nx licensed import ledger.nxe", "nx licensed status ledger"],
  "licensed import": [
    "nx licensed import ledger.nxe             # a token from a store",
    "nx licensed import a.nxe b.nxr --json     # several records at once, all or none",
  ],
  "licensed revoke": ["nx licensed revoke refund-ledger.nxr   # the app turns inactive"],
  "licensed restore": ["nx licensed restore restore-ledger.nxr # active again"],
  "licensed list": ["nx licensed list", "nx licensed list --app ledger --json"],
  "licensed status": [
    "nx licensed status ledger",
    "nx licensed status ledger --sku ledger.pro --json   # before it is installed",
  ],
  "licensed device": ["nx licensed device", "nx licensed device --json"],
  "licensed trust": ["nx licensed trust list", "nx licensed trust add store.pub --name store"],
  "licensed trust add": ["nx licensed trust add fixtures/keys/licensing.pub --name dev-store"],
  "licensed trust remove": ["nx licensed trust remove 0e89db5480c25936a037f11826d133d6"],
  "licensed trust list": ["nx licensed trust list", "nx licensed trust list --json"],
  "store": ["nx store catalog", "nx store buy ledger.pro --yes", "nx store refund ledger.pro"],
  "store catalog": ["nx store catalog", "nx store catalog --store ./my-store --json"],
  "store buy": [
    "nx store buy ledger.pro                   # on a terminal it asks before installing",
    "nx store buy ledger.trial --yes --markers # a 14-day trial, installed without asking",
  ],
  "store refund": ["nx store refund ledger.pro            # the store revokes the token"],
  "store restore": ["nx store restore ledger.pro           # the store restores it"],
  "agent": [
    "nx agent --root /var/lib/nx --listen tcp:0.0.0.0:7070 --authorized-keys hosts.pub --host-key agent.key",
    "nx agent --listen tcp:127.0.0.1:0 --authorized-keys hosts.pub   # prints the port it picked",
    "nx agent --listen serial:/dev/vport0p1 --authorized-keys hosts.pub --allow-admin",
  ],
  "demo": ["nx demo", "nx demo --root /tmp/nx-demo/root --json"],
  "selftest": [
    "nx selftest --root /tmp/root --markers    # on a root that trusts fixtures/keys/dev.pub",
    "nx selftest --transport tcp:127.0.0.1:7420 --markers   # on an agent's root (a QEMU guest)",
  ],
  "qemu": [
    "nx qemu up --trust fixtures/keys/dev.pub   # boot a guest; prints its two transports",
    "nx qemu status",
    "nx qemu down",
  ],
  "qemu build": [
    "nx qemu build                             # no-op while the inputs are unchanged",
  ],
  "qemu up": [
    "nx qemu up --trust fixtures/keys/dev.pub --fresh   # a new root that trusts the fixture key",
    "nx qemu up --name ci --authorize host.pub --identity host.key --timeout 300",
    "nx qemu up --selftest --json              # run nx selftest in the guest before its agent",
  ],
  "qemu env": [
    "nx qemu env                               # eval its output: nx pkg then acts on the guest",
    "nx qemu env --name ci --tcp --json",
  ],
  "qemu down": ["nx qemu down", "nx qemu down --name ci --timeout 60"],
  "qemu status": ["nx qemu status", "nx qemu status --name ci --json"],
  "qemu console": ["nx qemu console", "nx qemu console --name ci --follow   # until QEMU exits"],
  "completion": [COMPLETION_INSTALL.bash, COMPLETION_INSTALL.zsh, COMPLETION_INSTALL.fish],
};

/** The help text after the options: "Examples:" and the lines, indented. */
export function examplesText(path: string): string | undefined {
  const lines = EXAMPLES[path];
  return lines ? ["", "Examples:", ...lines.map((l) => `  ${l}`)].join("\n") : undefined;
}
