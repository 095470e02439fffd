/**
 * Seed 000 §6 ("ログコスト"): the form sender's CloudWatch Logs keep 14 days. Every log group the FormSenderBatch
 * component creates (the functions', the API's access and execution logs, the runner's) is held to it.
 */
import { strict as assert } from "assert";
import { FORM_SENDER_LOG_RETENTION_DAYS } from "../../components/formSender/context";
import { inputsOf, planFor } from "../harness";

describe("form-sender log retention (seed 000 §6)", function () {
    this.timeout(120000);
    for (const stack of ["stg", "prd"]) {
        it(`${stack}: every form-sender log group keeps 14 days`, async () => {
            const plan = await planFor(stack);
            const [component] = plan.ofType("ops:formsender:FormSenderBatch");
            const groups = plan
                .descendants(component.urn)
                .filter((r) => r.type === "aws:cloudwatch/logGroup:LogGroup")
                .map((r) => inputsOf<{ name: string; retentionInDays: number }>(r));
            // Three functions, the API's access and execution logs, the runner: at least these six.
            assert.ok(groups.length >= 6, JSON.stringify(groups.map((g) => g.name)));
            assert.equal(FORM_SENDER_LOG_RETENTION_DAYS, 14);
            for (const g of groups) assert.equal(g.retentionInDays, 14, g.name);
        });
    }
});
