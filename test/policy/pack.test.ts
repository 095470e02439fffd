import { strict as assert } from "assert";
import { PlanResource } from "../../policy/lib/resource";
import { evaluate } from "../../policy/lib/rule";
import { DEFAULT_CONFIG, RULES } from "../../policy/rules";
import { FIXTURES } from "./fixtures";
import { DISPATCHER_POLICY_WITH } from "./fixtures/iam";
import { PackDiagnostic, PackProcess } from "./packProcess";
import { listStacks } from "../../scripts/lib/offlineEngine";
import { planFor } from "../harness";

/** `rule | urn | message` lines, sorted, for comparing the pack with the offline evaluator. */
const offline = (resources: PlanResource[]) =>
    evaluate(resources, RULES, DEFAULT_CONFIG)
        .map((v) => `${v.rule} | ${v.urn ?? ""} | ${v.message}`)
        .sort();
const viaPack = (ds: PackDiagnostic[]) => ds.map((d) => `${d.policy} | ${d.urn} | ${d.message}`).sort();

describe("CrossGuard pack (policy/ loaded as `pulumi preview --policy-pack policy` loads it)", function () {
    // ts-node type-checks the pack before it serves, as it does under the CLI.
    this.timeout(180000);
    let pack: PackProcess;

    before(async () => {
        pack = await PackProcess.start();
    });
    after(() => pack?.stop());

    it("serves every rule under the pack name ops-platform with the rule's enforcement level", async () => {
        const info = await pack.info();
        assert.equal(info.name, "ops-platform");
        assert.equal(info.version, "1.0.0");
        assert.deepEqual(
            info.policies.map((p) => `${p.name}:${p.level}`),
            RULES.map((r) => `${r.name}:${r.enforcementLevel}`),
        );
        for (const p of info.policies) {
            const rule = RULES.find((r) => r.name === p.name)!;
            for (const id of rule.checkov) assert.ok(p.description.includes(id), `${p.name} documents ${id}`);
        }
    });

    it("reports exactly what the offline evaluator reports, for every fixture", async () => {
        const cases = FIXTURES.flatMap((f) => [
            { name: `${f.rule} pass`, resources: f.pass },
            ...f.fail.map((c) => ({ name: `${f.rule}: ${c.case}`, resources: c.resources })),
        ]);
        let reported = 0;
        for (const c of cases) {
            const got = viaPack(await pack.preview(c.resources));
            assert.deepEqual(got, offline(c.resources), `pack and offline evaluator disagree on "${c.name}"`);
            reported += got.length;
        }
        assert.ok(reported > cases.length / 2, "the failing fixtures produced violations through the pack");
    });

    it("turns engine unknowns into 'cannot judge yet': no violation and no advisory 'can't run during preview'", async () => {
        for (const f of FIXTURES) {
            for (const u of f.unknown ?? []) {
                const ds = (await pack.preview(u.resources)).filter((d) => d.policy === f.rule);
                assert.deepEqual(
                    ds,
                    [],
                    `${f.rule} (${u.case}) through the pack:\n${ds.map((d) => d.message).join("\n")}`,
                );
            }
        }
    });

    it("reports a failing fixture as a mandatory violation on the offending resource", async () => {
        const resources = DISPATCHER_POLICY_WITH("SubmitJobs", {
            Sid: "SubmitJobs",
            Effect: "Allow",
            Action: "*",
            Resource: "*",
        });
        const ds = await pack.preview(resources);
        const policy = resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy")!;
        const wildcard = ds.filter((d) => d.policy === "iam-no-wildcard-action");
        assert.equal(wildcard.length, 1, wildcard.map((d) => d.message).join("\n"));
        assert.equal(wildcard[0].level, "mandatory");
        assert.equal(wildcard[0].urn, policy.urn);
        assert.match(wildcard[0].message, /allows "\*"/);
    });

    for (const stack of listStacks()) {
        it(`finds no mandatory violation in the ${stack} plan through the pack, agreeing with the offline evaluator`, async () => {
            const plan = await planFor(stack);
            const ds = await pack.preview(plan.resources);
            assert.deepEqual(
                ds.filter((d) => d.level === "mandatory").map((d) => `${d.policy}: ${d.message}`),
                [],
            );
            assert.deepEqual(viaPack(ds), offline(plan.resources));
        });
    }
});
