import { strict as assert } from "assert";
import { exitCodeOf, formatReport } from "../../scripts/lib/preflight";
import { preflight } from "./harness";

describe("npm run preflight against an account that fits stg", function () {
    this.timeout(120_000);

    it("passes every check and exits 0", async () => {
        const { report } = await preflight();
        const notPass = report.checks.filter((c) => c.status !== "PASS" && c.status !== "SKIP");
        assert.deepEqual(notPass, []);
        assert.equal(exitCodeOf(report), 0);
        console.log(formatReport(report));
    });
});
