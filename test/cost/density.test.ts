import { strict as assert } from "assert";
import { costReport } from "../../scripts/cost";
import { dollarsPer1000Forms, MEASURED_DENSITY, packedWorkload } from "../../scripts/cost/density";
import { CPU_TARGET, project } from "../../scripts/bench/density";
import { price } from "../../scripts/cost/prices";
import { CODE_DEFAULTS } from "../../functions/formSender/dispatcher";
import {
    CPU_SECONDS_PER_FORM,
    maxWorkers,
    MEMORY_MIB_PER_WORKER,
    SIZING_MARGIN,
    WAIT_SECONDS_PER_FORM,
} from "../../functions/formSender/sizing";

describe("cost report at the measured runner density", function () {
    this.timeout(60000);

    it("turns the seed's 4-worker hours into forms and prices them at the measured density", () => {
        const d = { measuredOn: "2026-11-27", workers: 8, formsPerInstanceHour: 1500, seedFormsPerInstanceHour: 750 };
        const w = packedWorkload(17600, d);
        assert.equal(w.forms, 13_200_000);
        assert.equal(w.instanceHours, 8800);
        assert.equal(Number(dollarsPer1000Forms(0.0653, 1500).toFixed(4)), 0.0435);
    });

    it("shows the seed's and the measured density side by side, with the runner lines at the packed hours", async () => {
        const md = await costReport("prd", true);
        const d = MEASURED_DENSITY;
        const n = (x: number) => x.toLocaleString("en-US");
        assert.match(md, new RegExp(`^\\| 4 \\(seed 000\\) \\| ${n(d.seedFormsPerInstanceHour)} \\| 17,600 \\|`, "m"));
        const hours = Math.round(packedWorkload(17600).instanceHours).toLocaleString("en-US");
        assert.match(
            md,
            new RegExp(
                `^\\| ${d.workers} \\(default, measured\\) \\| ${n(d.formsPerInstanceHour)} \\| ${hours} \\|`,
                "m",
            ),
        );
        assert.match(md, new RegExp(`of ${Math.round(packedWorkload(17600).instanceHours)} instance-hours`));
    });
});

describe("one measured density everywhere (issue 17)", () => {
    it("the dispatcher's default workers, the sizing rule and the cost report follow the same measurement", () => {
        // The recommended density is the most workers a c6a.xlarge job (4 vCPU, 7,680 MiB) runs within the margin.
        assert.equal(maxWorkers(4, 7680), MEASURED_DENSITY.workers);
        assert.equal(CODE_DEFAULTS.workers_per_workflow, MEASURED_DENSITY.workers);
        assert.equal(CPU_TARGET, SIZING_MARGIN);
        // The bench's projection of the sizing rule's per-form figures gives the cost report's forms per instance-hour
        // (within the rounding of the two decimals the sizing rule keeps).
        const projected = project(
            {
                workers: MEASURED_DENSITY.workers,
                cpuPerForm: CPU_SECONDS_PER_FORM,
                waitPerForm: WAIT_SECONDS_PER_FORM,
                peakPss: MEASURED_DENSITY.workers * MEMORY_MIB_PER_WORKER * 1024 ** 2,
            },
            price("us-east-1", "ec2.c6a.xlarge.spot").usd,
        );
        const drift = Math.abs(projected.formsPerInstanceHour / MEASURED_DENSITY.formsPerInstanceHour - 1);
        assert.ok(
            drift < 0.02,
            `projected ${projected.formsPerInstanceHour.toFixed(0)} vs ${MEASURED_DENSITY.formsPerInstanceHour}`,
        );
    });
});
