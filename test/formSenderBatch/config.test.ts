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
});
