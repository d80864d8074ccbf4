/**
 * Upgrade and lifecycle scenarios as data (tests/scenarios/*.json), run through the real CLI on
 * a local root by the shared runner (tests/_scenario_runner.ts; agent_dual_test.ts runs the same
 * files through `nx agent` too).
 */
import { ArgResolver, loadScenarios, localRoot, runStep, setupRoot } from "./_scenario_runner.ts";

for (const { file, scenario } of await loadScenarios()) {
  Deno.test(`scenario ${file}: ${scenario.name}`, async () => {
    const { work, root } = await setupRoot(scenario);
    const args = new ArgResolver(work);
    for (const step of scenario.steps) {
      await runStep(step, localRoot(work, root), args);
    }
  });
}
