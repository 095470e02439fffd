/**
 * The form-sender settings that exist because of rules AWS enforces and the mock engine does not.
 */
import { strict as assert } from "assert";
import { ConfigError, parseStackConfig } from "../../components/config";
import { MINIMAL_CONFIG } from "../support/minimalConfig";

function problems(overrides: Record<string, string>): string[] {
    try {
        parseStackConfig("stg", { ...MINIMAL_CONFIG, ...overrides });
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
        return e.problems.map((p) => p.message);
    }
    return [];
}

describe("form-sender configuration", () => {
    // Lambda, "Configuring reserved concurrency for a function": "You can reserve up to the Unreserved account
    // concurrency value that is shown, minus 100 for functions that don't have reserved concurrency"
    // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html); "New AWS accounts have reduced
    // concurrency and memory quotas" (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html).
    it("reserves no dispatcher concurrency by default, accepts 0 and refuses a negative reservation", () => {
        assert.equal(parseStackConfig("stg", MINIMAL_CONFIG).formSender.dispatcherReservedConcurrency, 0);
        assert.deepEqual(problems({ formSenderDispatcherReservedConcurrency: "0" }), []);
        assert.equal(
            parseStackConfig("stg", { ...MINIMAL_CONFIG, formSenderDispatcherReservedConcurrency: "20" }).formSender
                .dispatcherReservedConcurrency,
            20,
        );
        assert.deepEqual(problems({ formSenderDispatcherReservedConcurrency: "-1" }), [
            'ops-platform:formSenderDispatcherReservedConcurrency: expected an integer from 0 to 1000, got "-1". Fix: pulumi config set formSenderDispatcherReservedConcurrency 0 --stack stg',
        ]);
    });

    it("defaults the per-submit settings to the code defaults, on-demand fallback off (seed 003)", () => {
        const f = parseStackConfig("stg", MINIMAL_CONFIG).formSender;
        assert.deepEqual(
            [
                f.defaultPreferSpot,
                f.defaultAllowOnDemandFallback,
                f.defaultWorkersPerWorkflow,
                f.defaultSessionMaxHours,
            ],
            [true, false, 7, 8],
        );
    });

    it("refuses default workers the job's vCPU and memory do not hold, naming the fix", () => {
        assert.deepEqual(problems({ formSenderDefaultWorkersPerWorkflow: "7" }), []);
        const [message] = problems({ formSenderDefaultWorkersPerWorkflow: "8" });
        assert.match(
            message,
            /^ops-platform:formSenderDefaultWorkersPerWorkflow: expected as many workers as the job's vCPU and memory hold, got "8"\. Fix: formSenderDefaultWorkersPerWorkflow 8 does not fit a job of 4 vCPU \/ 7680 MiB: 8 workers need 76 % of its CPU .* Use formSenderDefaultWorkersPerWorkflow 7 or fewer/,
        );
        // Two vCPUs hold three workers (0.38 vCPU each within 75 %); five need three vCPUs.
        assert.match(
            problems({ formSenderJobVcpus: "2", formSenderDefaultWorkersPerWorkflow: "5" })[0],
            /Use formSenderDefaultWorkersPerWorkflow 3 or fewer, or give the job formSenderJobVcpus 3 and formSenderJobMemoryMib 7680$/,
        );
    });

    it("refuses a job size none of the instance types holds", () => {
        const cTypes = '["c6a.xlarge","c5a.xlarge","c6i.xlarge"]';
        assert.deepEqual(problems({ formSenderInstanceTypes: cTypes, formSenderJobMemoryMib: "8192" }), [
            "ops-platform:formSenderJobVcpus: expected a job size one of formSenderInstanceTypes holds (at most 4 vCPU / " +
                '7680 MiB with these types); Batch never places a larger job, got "4 vCPU / 8192 MiB (formSenderJobMemoryMib)". ' +
                "Fix: lower formSenderJobVcpus / formSenderJobMemoryMib or add larger instance types",
        ]);
        // m6a.xlarge has 16 GiB: a 15,360 MiB job fits it.
        assert.deepEqual(
            problems({
                formSenderInstanceTypes: '["c6a.xlarge","m6a.xlarge"]',
                formSenderJobMemoryMib: "15360",
            }),
            [],
        );
    });
});
