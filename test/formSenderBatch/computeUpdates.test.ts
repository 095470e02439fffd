/**
 * Whether a change to a compute environment replaces it. The mock engine never asks the provider, so the provider's
 * rule is encoded here as a pure function and applied to both environments of both stacks' plans.
 */
import { strict as assert } from "assert";
import { STATE_TAG } from "../../functions/formSender/spotWatch";
import { planFor } from "../harness";

/** aws.batch.ComputeEnvironment inputs, as far as the rule reads them. */
interface CeInputs {
    readonly type: string;
    readonly name?: string;
    readonly serviceRole?: string;
    readonly computeResources?: {
        readonly type: string;
        readonly allocationStrategy?: string;
        readonly bidPercentage?: number;
        readonly ec2Configurations?: readonly { readonly imageType?: string; readonly imageIdOverride?: string }[];
        readonly ec2KeyPair?: string;
        readonly imageId?: string;
        readonly instanceRole?: string;
        readonly instanceTypes?: readonly string[];
        readonly launchTemplate?: {
            readonly launchTemplateId?: string;
            readonly launchTemplateName?: string;
            readonly version?: string;
        };
        readonly maxVcpus: number;
        readonly minVcpus?: number;
        readonly placementGroup?: string;
        readonly securityGroupIds?: readonly string[];
        readonly spotIamFleetRole?: string;
        readonly subnets: readonly string[];
        readonly tags?: Readonly<Record<string, string>>;
    };
}

type Resources = NonNullable<CeInputs["computeResources"]>;

/** Order-insensitive for the provider's TypeSet attributes, exact otherwise. */
function changed(a: unknown, b: unknown, set = false): boolean {
    const norm = (v: unknown) => (set && Array.isArray(v) ? [...(v as unknown[])].map(String).sort() : v);
    return JSON.stringify(norm(a) ?? null) !== JSON.stringify(norm(b) ?? null);
}

/** `isServiceLinkedRole`: an empty role ARN defaults to the Batch service-linked role. */
const isServiceLinkedRole = (arn = "") =>
    arn === "" || /arn:[^:]+:iam::\d{12}:role\/aws-service-role\/batch\.amazonaws\.com\//.test(arn);
/** `isUpdatableAllocationStrategy`: only these two (not SPOT_PRICE_CAPACITY_OPTIMIZED, #38695). */
const isUpdatableAllocationStrategy = (s = "") => s === "BEST_FIT_PROGRESSIVE" || s === "SPOT_CAPACITY_OPTIMIZED";

/** `isUpdatableComputeEnvironment` = `isServiceLinkedRoleDiff` && `isUpdatableAllocationStrategyDiff`. */
function isUpdatable(before: CeInputs, after: CeInputs): boolean {
    const role = changed(before.serviceRole, after.serviceRole)
        ? isServiceLinkedRole(before.serviceRole) && isServiceLinkedRole(after.serviceRole)
        : isServiceLinkedRole(after.serviceRole);
    const b = before.computeResources?.allocationStrategy;
    const a = after.computeResources?.allocationStrategy;
    const strategy =
        after.computeResources !== undefined &&
        (changed(b, a)
            ? isUpdatableAllocationStrategy(b) && isUpdatableAllocationStrategy(a)
            : isUpdatableAllocationStrategy(a));
    return role && strategy;
}

/**
 * The inputs whose change replaces the environment: hashicorp/terraform-provider-aws
 * internal/service/batch/compute_environment.go, the schema's ForceNew attributes (type, the name, the
 * compute_resources, launch_template and ec2_configuration blocks' presence, placement_group, spot_iam_fleet_role) and
 * `resourceComputeEnvironmentCustomizeDiff`, which on update forces new on security_group_ids and subnets (not for
 * Fargate), allocation_strategy, bid_percentage, ec2_configuration (count, image_id_override, image_type),
 * ec2_key_pair, image_id, instance_role, instance_type, launch_template (count, id, name, version) and
 * compute_resources.tags, unless `isUpdatableComputeEnvironment`.
 */
function replacementCauses(before: CeInputs, after: CeInputs): string[] {
    const causes: string[] = [];
    const cause = (path: string, a: unknown, b: unknown, set = false) => {
        if (changed(a, b, set)) causes.push(path);
    };
    cause("type", before.type, after.type);
    cause("name", before.name, after.name);
    const b = before.computeResources;
    const a = after.computeResources;
    cause("computeResources", b === undefined, a === undefined);
    if (b === undefined || a === undefined) return causes;
    const at = (r: Resources) => ({
        launchTemplates: r.launchTemplate === undefined ? 0 : 1,
        ec2Configurations: r.ec2Configurations?.length ?? 0,
    });
    cause("computeResources.launchTemplate", at(b).launchTemplates, at(a).launchTemplates);
    cause("computeResources.ec2Configurations", at(b).ec2Configurations, at(a).ec2Configurations);
    cause("computeResources.placementGroup", b.placementGroup, a.placementGroup);
    cause("computeResources.spotIamFleetRole", b.spotIamFleetRole, a.spotIamFleetRole);
    if (!isUpdatable(before, after)) {
        const fargate = ["FARGATE", "FARGATE_SPOT"].includes(a.type.toUpperCase());
        if (!fargate) {
            cause("computeResources.securityGroupIds", b.securityGroupIds, a.securityGroupIds, true);
            cause("computeResources.subnets", b.subnets, a.subnets, true);
        }
        cause("computeResources.allocationStrategy", b.allocationStrategy, a.allocationStrategy);
        cause("computeResources.bidPercentage", b.bidPercentage, a.bidPercentage);
        cause(
            "computeResources.ec2Configurations[0].imageType",
            b.ec2Configurations?.[0]?.imageType,
            a.ec2Configurations?.[0]?.imageType,
        );
        cause(
            "computeResources.ec2Configurations[0].imageIdOverride",
            b.ec2Configurations?.[0]?.imageIdOverride,
            a.ec2Configurations?.[0]?.imageIdOverride,
        );
        cause("computeResources.ec2KeyPair", b.ec2KeyPair, a.ec2KeyPair);
        cause("computeResources.imageId", b.imageId, a.imageId);
        cause("computeResources.instanceRole", b.instanceRole, a.instanceRole);
        cause("computeResources.instanceTypes", b.instanceTypes, a.instanceTypes, true);
        cause(
            "computeResources.launchTemplate.launchTemplateId",
            b.launchTemplate?.launchTemplateId,
            a.launchTemplate?.launchTemplateId,
        );
        cause(
            "computeResources.launchTemplate.launchTemplateName",
            b.launchTemplate?.launchTemplateName,
            a.launchTemplate?.launchTemplateName,
        );
        cause("computeResources.launchTemplate.version", b.launchTemplate?.version, a.launchTemplate?.version);
        cause("computeResources.tags", b.tags, a.tags);
    }
    return causes;
}

/** The changes operators make after the first deploy: config edits, network changes, a new launch template. */
const CHANGES: [string, (r: Resources) => Partial<Resources>][] = [
    ["an instance type added", (r) => ({ instanceTypes: [...(r.instanceTypes ?? []), "c7a.xlarge"] })],
    ["an instance type removed", (r) => ({ instanceTypes: (r.instanceTypes ?? []).slice(0, -1) })],
    ["other subnets", () => ({ subnets: ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"] })],
    ["another security group", () => ({ securityGroupIds: ["sg-0bbbbbbbbbbbbbbb1"] })],
    ["a new launch template version", (r) => ({ launchTemplate: { ...r.launchTemplate, version: "2" } })],
    ["another launch template", () => ({ launchTemplate: { launchTemplateId: "lt-0ccccccccccccccc1", version: "1" } })],
    ["another maxvCpus", (r) => ({ maxVcpus: r.maxVcpus * 2 })],
];

const CES = ["form-sender-spot-ce", "form-sender-ondemand-ce"];

describe("compute environment updates", function () {
    this.timeout(120000);

    for (const stack of ["stg", "prd"]) {
        for (const ce of CES) {
            it(`${stack} ${ce}: instance types, subnets, security group and launch template change in place`, async () => {
                const before = (await planFor(stack)).inputs<CeInputs>(
                    "aws:batch/computeEnvironment:ComputeEnvironment",
                    ce,
                );
                // Batch's service-linked role (no serviceRole) and an auto-generated name.
                assert.equal(before.serviceRole, undefined);
                assert.equal(before.name, undefined);
                const resources = before.computeResources;
                assert.ok(resources);
                for (const [what, change] of CHANGES) {
                    const after: CeInputs = { ...before, computeResources: { ...resources, ...change(resources) } };
                    assert.ok(changed(before, after), what);
                    assert.deepEqual(replacementCauses(before, after), [], what);
                }
            });
        }
    }

    // Batch scales desiredvCpus itself, and spot-watch tags the Spot environment out of band: a refresh reads that
    // tag into the resource, and without ignoreChanges the next `up` would remove it again (Pulumi resource option
    // ignoreChanges, https://www.pulumi.com/docs/iac/concepts/options/ignorechanges/). maxvCpus stays managed: the
    // provider sends it on every update (compute_environment.go `resourceComputeEnvironmentUpdate`), and spot-watch
    // lowers it again on its next run (test/formSender/spotWatch.test.ts).
    for (const stack of ["stg", "prd"]) {
        it(`${stack}: ignores desiredVcpus and the spot-watch tag, not maxVcpus`, async () => {
            const plan = await planFor(stack);
            for (const ce of CES) {
                assert.deepEqual(
                    plan.get("aws:batch/computeEnvironment:ComputeEnvironment", ce).ignoreChanges,
                    ["computeResources.desiredVcpus", `tags["${STATE_TAG}"]`],
                    ce,
                );
                // The engine resets an ignored path only inside objects the new inputs have: with the tag in the old
                // inputs (after a refresh) and no `tags` object in the new ones, `PropertyPath.reset` reports a path
                // error (pulumi/pulumi sdk/go/common/resource/properties_path.go) and the update fails.
                const tags = plan.inputs<{ tags?: Record<string, string> }>(
                    "aws:batch/computeEnvironment:ComputeEnvironment",
                    ce,
                ).tags;
                assert.equal(typeof tags, "object", `${ce} has a tags object`);
                assert.equal(tags?.[STATE_TAG], undefined, `${ce} leaves ${STATE_TAG} to spot-watch`);
            }
        });
    }

    it("replaces an environment with a custom service role or SPOT_PRICE_CAPACITY_OPTIMIZED on the same changes", () => {
        const resources: Resources = {
            type: "SPOT",
            allocationStrategy: "SPOT_CAPACITY_OPTIMIZED",
            instanceTypes: ["c6a.xlarge"],
            maxVcpus: 16,
            subnets: ["subnet-0aaaaaaaaaaaaaaa1"],
            securityGroupIds: ["sg-0bbbbbbbbbbbbbbb1"],
            launchTemplate: { launchTemplateId: "lt-0ccccccccccccccc1", version: "1" },
        };
        const base: CeInputs = { type: "MANAGED", computeResources: resources };
        const withTypes = (ce: CeInputs, instanceTypes: string[]): CeInputs => ({
            ...ce,
            computeResources: { ...(ce.computeResources ?? resources), instanceTypes },
        });
        const custom: CeInputs = { ...base, serviceRole: "arn:aws:iam::123456789012:role/form-sender-batch-service" };
        const slr: CeInputs = {
            ...base,
            serviceRole: "arn:aws:iam::123456789012:role/aws-service-role/batch.amazonaws.com/AWSServiceRoleForBatch",
        };
        const priceCapacity: CeInputs = {
            ...base,
            computeResources: { ...resources, allocationStrategy: "SPOT_PRICE_CAPACITY_OPTIMIZED" },
        };
        const more = ["c6a.xlarge", "c5a.xlarge"];
        assert.deepEqual(replacementCauses(base, withTypes(base, more)), []);
        assert.deepEqual(replacementCauses(slr, withTypes(slr, more)), []);
        assert.deepEqual(replacementCauses(custom, withTypes(custom, more)), ["computeResources.instanceTypes"]);
        assert.deepEqual(replacementCauses(priceCapacity, withTypes(priceCapacity, more)), [
            "computeResources.instanceTypes",
        ]);
        // Changing the strategy away from a non-updatable one replaces too.
        assert.deepEqual(replacementCauses(priceCapacity, base), ["computeResources.allocationStrategy"]);
        // The name is ForceNew whatever the role: a fixed name would also collide with its own replacement.
        assert.deepEqual(replacementCauses(base, { ...base, name: "fs-stg-spot" }), ["name"]);
    });
});
