import { strict as assert } from "assert";
import { costReport } from "../../scripts/cost";
import { dollarsPer1000Forms, MEASURED_DENSITY, packedWorkload } from "../../scripts/cost/density";

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
        assert.match(md, new RegExp(`^\\| 4 \\(seed 000\\) \\| ${d.seedFormsPerInstanceHour} \\| 17,600 \\|`, "m"));
        const hours = Math.round(packedWorkload(17600).instanceHours).toLocaleString("en-US");
        assert.match(md, new RegExp(`^\\| ${d.workers} \\(default, measured\\) \\| [\\d,]+ \\| ${hours} \\|`, "m"));
        assert.match(md, new RegExp(`of ${Math.round(packedWorkload(17600).instanceHours)} instance-hours`));
    });
});
