import { strict as assert } from "assert";
import {
    TagResourceCommandInput,
    UntagResourceCommandInput,
    UpdateComputeEnvironmentCommandInput,
} from "@aws-sdk/client-batch";
import { makeSpotWatchHandler, spotRatioPercent, STATE_TAG } from "../../functions/formSender/spotWatch";
import { describeCommand, SentCommand } from "../support/sdkStub";

const CE = "arn:aws:batch:us-east-1:123456789012:compute-environment/stg-fs-spot";
const ON_DEMAND = { "c6a.xlarge": 0.153, "c5a.xlarge": 0.154 };

/**
 * EC2, Batch and SNS stubbed at the SDK boundary; the compute environment's maxvCpus (400, as configured) and tags
 * persist across calls, and `ce` lets a test change them as something else would (an update, an operator).
 */
function world(prices: Record<string, string>) {
    const tags: Record<string, string> = {};
    const ce = { maxvCpus: 400, tags };
    const sent: SentCommand[] = [];
    const answer = (cmd: SentCommand): unknown => {
        switch (cmd.command) {
            case "DescribeSpotPriceHistoryCommand":
                return {
                    SpotPriceHistory: Object.entries(prices).flatMap(([type, price]) => [
                        {
                            InstanceType: type,
                            AvailabilityZone: "us-east-1a",
                            SpotPrice: price,
                            Timestamp: new Date("2026-11-23T01:50:00Z"),
                        },
                        {
                            InstanceType: type,
                            AvailabilityZone: "us-east-1b",
                            SpotPrice: String(Number(price) * 1.5),
                            Timestamp: new Date("2026-11-23T01:50:00Z"),
                        },
                        {
                            InstanceType: type,
                            AvailabilityZone: "us-east-1a",
                            SpotPrice: "9.99",
                            Timestamp: new Date("2026-11-23T01:00:00Z"),
                        },
                    ]),
                };
            case "DescribeComputeEnvironmentsCommand":
                return {
                    computeEnvironments: [
                        { computeEnvironmentArn: CE, computeResources: { maxvCpus: ce.maxvCpus }, tags: { ...tags } },
                    ],
                };
            case "UpdateComputeEnvironmentCommand": {
                const maxvCpus = (cmd.input as UpdateComputeEnvironmentCommandInput).computeResources?.maxvCpus;
                if (maxvCpus !== undefined) ce.maxvCpus = maxvCpus;
                return {};
            }
            case "TagResourceCommand":
                Object.assign(tags, (cmd.input as TagResourceCommandInput).tags);
                return {};
            case "UntagResourceCommand":
                for (const k of (cmd.input as UntagResourceCommandInput).tagKeys!) delete tags[k];
                return {};
            default:
                return {};
        }
    };
    const client = {
        send(command: unknown): Promise<unknown> {
            const cmd = describeCommand(command);
            sent.push(cmd);
            return Promise.resolve(answer(cmd));
        },
    };
    const handler = makeSpotWatchHandler({
        computeEnvironment: CE,
        configuredMaxVcpus: 400,
        onDemandPrices: ON_DEMAND,
        topicArn: "arn:aws:sns:us-east-1:123456789012:alerts",
        environment: "prd",
        ec2: client,
        batch: client,
        sns: client,
        log: () => undefined,
        now: () => new Date("2026-11-23T02:00:00Z"),
    });
    return { handler, sent, tags, ce, setPrices: (p: Record<string, string>) => Object.assign(prices, p) };
}

describe("spot-watch", () => {
    it("uses the latest, cheapest AZ price per type and averages the ratio over types", () => {
        const ratio = spotRatioPercent(
            [
                { InstanceType: "c6a.xlarge", AvailabilityZone: "a", SpotPrice: "0.0765", Timestamp: new Date(2) },
                { InstanceType: "c6a.xlarge", AvailabilityZone: "a", SpotPrice: "1.0", Timestamp: new Date(1) },
                { InstanceType: "c6a.xlarge", AvailabilityZone: "b", SpotPrice: "0.1", Timestamp: new Date(2) },
                { InstanceType: "c5a.xlarge", AvailabilityZone: "a", SpotPrice: "0.154", Timestamp: new Date(2) },
                { InstanceType: "m5.large", AvailabilityZone: "a", SpotPrice: "5", Timestamp: new Date(2) },
            ],
            ON_DEMAND,
        );
        assert.equal(ratio, 75); // (50 % + 100 %) / 2
        assert.equal(spotRatioPercent([], ON_DEMAND), null);
    });

    it("lowers maxvCpus by 30 %, tags the state and alerts once when Spot exceeds 80 % of on-demand", async () => {
        const w = world({ "c6a.xlarge": "0.1377", "c5a.xlarge": "0.1386" }); // 90 %
        assert.deepEqual(await w.handler(), { action: "reduced", ratioPercent: 90, maxvCpus: 280 });
        assert.deepEqual(
            w.sent
                .filter(
                    (s) =>
                        s.command !== "DescribeSpotPriceHistoryCommand" &&
                        s.command !== "DescribeComputeEnvironmentsCommand",
                )
                .map((s) => [s.command, s.input]),
            [
                ["UpdateComputeEnvironmentCommand", { computeEnvironment: CE, computeResources: { maxvCpus: 280 } }],
                ["TagResourceCommand", { resourceArn: CE, tags: { [STATE_TAG]: "reduced" } }],
                [
                    "PublishCommand",
                    {
                        TopicArn: "arn:aws:sns:us-east-1:123456789012:alerts",
                        Subject: "[prd] Spot price at 90% of on-demand: Spot capacity lowered",
                        Message:
                            "Recent Spot prices for c6a.xlarge, c5a.xlarge average 90% of on-demand (threshold 80%). maxvCpus of " +
                            CE +
                            " lowered from 400 to 280; it is restored automatically when prices fall below 75%.",
                    },
                ],
            ],
        );
        const before = w.sent.length;
        assert.deepEqual(await w.handler(), { action: "none", ratioPercent: 90, reason: "already reduced" });
        assert.deepEqual(
            w.sent.slice(before).map((s) => s.command),
            ["DescribeSpotPriceHistoryCommand", "DescribeComputeEnvironmentsCommand"],
        );
    });

    it("restores the configured maxvCpus once prices fall below the hysteresis band, and only then", async () => {
        const w = world({ "c6a.xlarge": "0.1377", "c5a.xlarge": "0.1386" });
        await w.handler();
        w.setPrices({ "c6a.xlarge": "0.1193", "c5a.xlarge": "0.1201" }); // 78 %: inside the band
        assert.equal((await w.handler()).action, "none");
        w.setPrices({ "c6a.xlarge": "0.0653", "c5a.xlarge": "0.0660" }); // ~43 %
        const out = await w.handler();
        assert.equal(out.action, "restored");
        assert.deepEqual(
            w.sent.find(
                (s) =>
                    s.command === "UpdateComputeEnvironmentCommand" &&
                    (s.input as UpdateComputeEnvironmentCommandInput).computeResources?.maxvCpus === 400,
            )?.input,
            { computeEnvironment: CE, computeResources: { maxvCpus: 400 } },
        );
        assert.deepEqual(w.tags, {});
        assert.equal((await w.handler()).action, "none");
    });

    // spot-watch changes maxvCpus out of band, and the provider sends the configured maxvCpus with every update of
    // the compute environment (hashicorp/terraform-provider-aws internal/service/batch/compute_environment.go
    // `resourceComputeEnvironmentUpdate`: `MaxvCpus: aws.Int32(int32(d.Get("compute_resources.0.max_vcpus").(int)))`),
    // while the STATE_TAG tag survives it (ignoreChanges, components/formSender/compute.ts). So the state is read
    // from maxvCpus, never from the tag.
    it("lowers maxvCpus again after an update restored the configured value while Spot stays expensive", async () => {
        const w = world({ "c6a.xlarge": "0.1377", "c5a.xlarge": "0.1386" }); // 90 %
        await w.handler();
        assert.deepEqual([w.ce.maxvCpus, w.tags], [280, { [STATE_TAG]: "reduced" }]);
        w.ce.maxvCpus = 400; // `pulumi up` updated the compute environment; the tag stayed
        const before = w.sent.length;
        assert.deepEqual(await w.handler(), { action: "reduced", ratioPercent: 90, maxvCpus: 280 });
        assert.equal(w.ce.maxvCpus, 280);
        assert.deepEqual(
            w.sent
                .slice(before)
                .map((s) => s.command)
                .filter((c) => !c.startsWith("Describe")),
            ["UpdateComputeEnvironmentCommand", "TagResourceCommand", "PublishCommand"],
        );
    });

    it("reads lowered capacity from maxvCpus when the tag is gone, and restores it", async () => {
        const w = world({ "c6a.xlarge": "0.1377", "c5a.xlarge": "0.1386" }); // 90 %
        w.ce.maxvCpus = 280; // lowered, tag removed (by hand)
        assert.deepEqual(await w.handler(), { action: "none", ratioPercent: 90, reason: "already reduced" });
        assert.deepEqual(w.tags, { [STATE_TAG]: "reduced" }, "the operators' marker is put back");
        assert.ok(!w.sent.some((s) => s.command === "UpdateComputeEnvironmentCommand"));
        // deepEqual above narrowed w.tags to the expected object, whose key is not optional.
        delete (w.tags as Record<string, string>)[STATE_TAG];
        w.setPrices({ "c6a.xlarge": "0.0653", "c5a.xlarge": "0.0660" }); // ~43 %
        assert.deepEqual(await w.handler(), { action: "restored", ratioPercent: 42.8, maxvCpus: 400 });
        assert.equal(w.ce.maxvCpus, 400);
    });

    it("only removes a stale tag when capacity is already back at the configured value", async () => {
        const w = world({ "c6a.xlarge": "0.0653", "c5a.xlarge": "0.0660" }); // ~43 %
        w.tags[STATE_TAG] = "reduced"; // an update restored maxvCpus while prices fell
        assert.deepEqual(await w.handler(), { action: "none", ratioPercent: 42.8, reason: "price below threshold" });
        assert.deepEqual(w.tags, {});
        assert.deepEqual(
            w.sent.map((s) => s.command),
            ["DescribeSpotPriceHistoryCommand", "DescribeComputeEnvironmentsCommand", "UntagResourceCommand"],
        );
    });

    it("changes nothing without price data", async () => {
        const w = world({});
        assert.deepEqual(await w.handler(), { action: "none", ratioPercent: null, reason: "no price data" });
        assert.deepEqual(
            w.sent.map((s) => s.command),
            ["DescribeSpotPriceHistoryCommand"],
        );
    });
});
