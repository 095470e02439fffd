import { strict as assert } from "assert";
import { COST_DEFAULTS } from "../../components/config";
import { costReport } from "../../scripts/cost";
import {
    estimate,
    natTradeOff,
    runnerComparison,
    runsPerMonth,
    scheduledSyncRunsPerMonth,
    weatherVersusSeed,
} from "../../scripts/cost/model";
import { price, PRICES } from "../../scripts/cost/prices";
import { planFor } from "../harness";

describe("cost report", function () {
    this.timeout(60000);

    it("reproduces seed 000 §11 exactly from its unit prices (17,600 h: $1,149 Spot, $2,693 on-demand, $5,576 Cloud Run)", () => {
        const c = runnerComparison(17600);
        assert.equal(Math.round(c.spot), 1149);
        assert.equal(Math.round(c.onDemand), 2693);
        assert.equal(Math.round(c.cloudRun), 5576);
        assert.equal(c.vcpuHours, 70400);
        // The seed's own per-hour Cloud Run figure: 4 vCPU × $0.000018 × 3600 + 8 GiB × $0.000002 × 3600.
        assert.equal(Number(c.cloudRunPerHour.toFixed(4)), 0.3168);
    });

    it("records a source and a date for every price in both regions", () => {
        for (const region of ["us-east-1", "ap-northeast-1"] as const) {
            for (const [key, p] of Object.entries(PRICES[region])) {
                assert.match(p.source, /^https:\/\//, `${region} ${key}`);
                assert.match(p.asOf, /^\d{4}-\d{2}-\d{2}$/, `${region} ${key}`);
                assert.ok(p.usd > 0, `${region} ${key}`);
            }
        }
        assert.throws(
            () => price("eu-west-3", "nat.hour"),
            /no prices for region eu-west-3; add it to scripts\/cost\/prices\.ts/,
        );
    });

    it("shows that a NAT gateway costs more than public IPv4 for the runner at the seed's workload", () => {
        const t = natTradeOff(17600);
        assert.equal(t.publicIpv4, 88);
        assert.ok(t.nat > t.publicIpv4);
        assert.equal(Number(t.natFixed.toFixed(2)), 36.5);
    });

    it("prices one NAT gateway in stg and one per AZ in prd from the plan", async () => {
        for (const [stack, nats] of [
            ["stg", 1],
            ["prd", 3],
        ] as const) {
            const plan = await planFor(stack);
            const lines = estimate(plan.run, COST_DEFAULTS).filter((l) => l.item === "NAT gateway hours");
            assert.equal(lines.length, nats);
            for (const l of lines) assert.equal(l.monthly, Number((730 * 0.062).toFixed(2)));
        }
    });

    it("counts runs per month of daily crons and rates, and nothing else (EventBridge schedule expressions)", () => {
        const cases: [string, number | undefined][] = [
            ["cron(0 15 * * ? *)", 730 / 24],
            ["cron(0 3,9 * * ? *)", (2 * 730) / 24],
            ["cron(0,30 3 ? * * *)", (2 * 730) / 24],
            ["rate(15 minutes)", (730 * 60) / 15],
            ["rate(1 day)", 730 / 24],
            ["cron(0 9 ? * MON-FRI *)", undefined],
            ["cron(0 9 1 * ? *)", undefined],
            ["cron(0 */2 * * ? *)", undefined],
            ["cron(0 9 * * * *)", undefined],
        ];
        for (const [expression, runs] of cases) assert.equal(runsPerMonth(expression), runs, expression);
    });

    it("derives sync runs per month from prd's two daily schedules; stg's disabled ones keep the default", async () => {
        const syncLine = (lines: ReturnType<typeof estimate>) =>
            lines.find((l) => l.item === "Lambda requests" && /sync/.test(l.resource));
        const prd = await planFor("prd");
        // Pulumi.prd.yaml: cron(0 3 * * ? *) and cron(0 9 * * ? *), enabled: 2 × 730 / 24 = 60.8 runs.
        assert.equal(scheduledSyncRunsPerMonth(prd.run), 61);
        const prdLines = estimate(prd.run, COST_DEFAULTS);
        assert.equal(syncLine(prdLines)?.quantity, 61 / 1e6);
        const prdCompute = prdLines.find((l) => l.item === "Lambda compute" && /sync/.test(l.resource));
        assert.match(prdCompute?.note ?? "", /^61 invocations \(from the sync schedules\) × 300 s$/);
        const stg = await planFor("stg");
        assert.equal(scheduledSyncRunsPerMonth(stg.run), undefined);
        const stgCompute = estimate(stg.run, COST_DEFAULTS).find(
            (l) => l.item === "Lambda compute" && /sync/.test(l.resource),
        );
        assert.match(stgCompute?.note ?? "", /^30 invocations \(costSyncRunsPerMonth\) × 300 s$/);
        assert.equal(syncLine(estimate(stg.run, COST_DEFAULTS))?.quantity, 30 / 1e6);
    });

    it("sets WeatherService beside seed 004 §9 line by line and names what the seed left out", async () => {
        const plan = await planFor("stg");
        const cmp = weatherVersusSeed(estimate(plan.run, COST_DEFAULTS));
        assert.deepEqual(
            cmp.rows.map((r) => [r.item, r.seed]),
            [
                ["ECS Fargate 1 vCPU / 2 GB × 1 task", 36.72],
                ["Application Load Balancer", 22.62],
                ["EFS 10 GB", 3],
                ["CloudWatch Logs 5 GB", 2.5],
                ["Secrets Manager (4 secrets)", 1.6],
            ],
        );
        assert.equal(cmp.seedTotal, 66.44);
        // 1 vCPU × $0.05056 + 2 GB × $0.00553 for 730 h in Tokyo.
        assert.equal(cmp.rows[0].ours, 44.98);
        const leftOut = new Set(cmp.leftOut.map((l) => l.item));
        for (const item of [
            "NAT gateway hours",
            "public IPv4 (Elastic IP)",
            "ALB capacity units",
            "ALB public IPv4 (one per AZ)",
        ])
            assert.ok(leftOut.has(item), item);
        assert.ok(cmp.ourTotal > cmp.seedTotal);
    });

    it("renders a markdown table for pull-request comments", async () => {
        const md = await costReport("prd", true);
        assert.match(md, /^### WeatherService weather \(ap-northeast-1\) — \$[\d,.]+\/month$/m);
        assert.match(md, /^\| resource \| item \| quantity \| unit price \| monthly \|$/m);
        assert.match(md, /^\| AWS Batch on Spot \| \$1,149\.28 \| 1\.00× \|$/m);
    });
});
