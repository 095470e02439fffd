/**
 * Per-submit settings precedence through the stack layer (seed 003 §7: targeting value → stack default → code
 * default), end to end on the AWS side: a stack's `formSender*` values (as Pulumi.<stack>.yaml holds them) are
 * parsed by the program, become the dispatcher Lambda's environment (stackDefaultsEnvironment), are read back as the
 * deployed function reads them (stackDefaultsFromEnvironment), and decide the SubmitJob the dispatcher sends. The
 * GAS layer (targeting column → submit body) is test/gas/formSender/precedence.test.ts.
 */
import { strict as assert } from "assert";
import { SubmitJobCommandInput } from "@aws-sdk/client-batch";
import { parseStackConfig } from "../../components/config";
import { CODE_DEFAULTS, CODE_JOB_SIZE, makeDispatcher, SendClient } from "../../functions/formSender/dispatcher";
import { supabaseRpc } from "../../functions/formSender/runtime";
import { stackDefaultsEnvironment, stackDefaultsFromEnvironment } from "../../functions/formSender/stackDefaults";
import { describeCommand } from "../support/sdkStub";
import { LocalSupabase, startSupabase } from "../support/supabase";
import { MINIMAL_CONFIG } from "../support/minimalConfig";

const CONFIG = {
    client: {
        company_name: "株式会社テスト",
        last_name: "山田",
        first_name: "太郎",
        email: "a@example.com",
        phone: "03-1234-5678",
    },
    message: { body: "本文" },
};
const QUEUES = { spot: "q-spot", spotThenOnDemand: "q-spot-then-ondemand", onDemand: "q-ondemand" };

type Setting =
    | "prefer_spot"
    | "allow_on_demand_fallback"
    | "max_attempts"
    | "workers_per_workflow"
    | "session_max_hours"
    | "vcpus"
    | "memory_mib";

/** For each setting: its stack key and value, a submit value, the code default, and how to read the effect. */
const TABLE: Record<
    Setting,
    {
        key: string;
        stack: [raw: string, value: unknown];
        request: unknown;
        code: unknown;
        effective: (input: SubmitJobCommandInput) => unknown;
    }
> = {
    prefer_spot: {
        key: "formSenderDefaultPreferSpot",
        stack: ["false", false],
        request: true,
        code: CODE_DEFAULTS.prefer_spot,
        // Fallback stays off in every case of this row, so the queue says it: Spot or on demand only.
        effective: (i) => i.jobQueue !== QUEUES.onDemand,
    },
    allow_on_demand_fallback: {
        key: "formSenderDefaultAllowOnDemandFallback",
        stack: ["true", true],
        request: false,
        code: CODE_DEFAULTS.allow_on_demand_fallback,
        effective: (i) => i.jobQueue === QUEUES.spotThenOnDemand,
    },
    max_attempts: {
        key: "formSenderJobAttempts",
        stack: ["5", 5],
        request: 7,
        code: CODE_DEFAULTS.max_attempts,
        effective: (i) => i.retryStrategy?.attempts,
    },
    workers_per_workflow: {
        key: "formSenderDefaultWorkersPerWorkflow",
        stack: ["4", 4],
        request: 2,
        code: CODE_DEFAULTS.workers_per_workflow,
        effective: (i) => Number(variable(i, "FORM_SENDER_WORKERS")),
    },
    session_max_hours: {
        key: "formSenderDefaultSessionMaxHours",
        stack: ["6", 6],
        request: 4.5,
        code: CODE_DEFAULTS.session_max_hours,
        effective: (i) => Number(variable(i, "FORM_SENDER_SESSION_MAX_HOURS")),
    },
    vcpus: {
        key: "formSenderJobVcpus",
        stack: ["3", 3],
        request: 2,
        code: CODE_JOB_SIZE.vcpus,
        effective: (i) => Number(requirement(i, "VCPU")),
    },
    memory_mib: {
        key: "formSenderJobMemoryMib",
        stack: ["6144", 6144],
        request: 4096,
        code: CODE_JOB_SIZE.memory_mib,
        effective: (i) => Number(requirement(i, "MEMORY")),
    },
};

const variable = (i: SubmitJobCommandInput, name: string) =>
    i.containerOverrides?.environment?.find((e) => e.name === name)?.value;
const requirement = (i: SubmitJobCommandInput, type: string) =>
    i.containerOverrides?.resourceRequirements?.find((r) => r.type === type)?.value;

/** Where a submit field lives in the body: session_max_hours at the top, the rest under `batch`. */
function body(setting: Setting, value: unknown): Record<string, unknown> {
    // Two workers fit every job size of the table, so the size rows never trip the workers check.
    const batch: Record<string, unknown> = setting === "workers_per_workflow" ? {} : { workers_per_workflow: 2 };
    const top: Record<string, unknown> = {};
    if (value !== undefined) {
        if (setting === "session_max_hours") top.session_max_hours = value;
        else batch[setting] = value;
    }
    return { targeting_id: "P1", client_config: CONFIG, execution: { run_total: 1 }, batch, ...top };
}

describe("per-submit settings precedence through the stack layer: submit value → stack default → code default", function () {
    this.timeout(120000);
    let sb: LocalSupabase;
    before(async () => {
        sb = await startSupabase();
    });
    after(async () => {
        await sb?.stop();
    });

    /** The SubmitJob the dispatcher sends for `submit`, under the stack config `stack` (unqualified keys). */
    async function submitted(stack: Record<string, string>, submit: Record<string, unknown>) {
        const config = parseStackConfig("stg", { ...MINIMAL_CONFIG, ...stack }).formSender;
        // What the Lambda's environment holds after `pulumi up`, read back as the deployed function reads it.
        const fromEnv = stackDefaultsFromEnvironment(stackDefaultsEnvironment(config));
        const sent: SubmitJobCommandInput[] = [];
        const batch: SendClient = {
            send: (command) => {
                const c = describeCommand(command);
                sent.push(c.input as SubmitJobCommandInput);
                return Promise.resolve({ jobId: `job-${sent.length}`, jobName: "n" });
            },
        };
        const handler = makeDispatcher({
            env: "stg",
            bucket: "b",
            queues: QUEUES,
            jobDefinition: "jd",
            ...fromEnv,
            batch,
            s3: { send: () => Promise.resolve({}) },
            db: () => Promise.resolve(supabaseRpc(sb.url, sb.serviceRoleKey)),
            presignPut: () => Promise.resolve(""),
            log: () => undefined,
        });
        const res = await handler({
            httpMethod: "POST",
            path: "/form-sender/submit",
            resource: "/form-sender/submit",
            body: JSON.stringify(submit),
        });
        assert.equal(res.statusCode, 200, res.body);
        assert.equal(sent.length, 1);
        return sent[0];
    }

    it("declares each stack key's default equal to the code default, so an unset key means the code default", () => {
        const config = parseStackConfig("stg", MINIMAL_CONFIG).formSender;
        const fromEnv = stackDefaultsFromEnvironment(stackDefaultsEnvironment(config));
        assert.deepEqual(fromEnv.defaults, CODE_DEFAULTS);
        assert.deepEqual(fromEnv.jobSize, CODE_JOB_SIZE);
    });

    for (const setting of Object.keys(TABLE) as Setting[]) {
        const row = TABLE[setting];
        for (const [requestSet, stackSet] of [
            [true, true],
            [true, false],
            [false, true],
            [false, false],
        ]) {
            const expected = requestSet ? row.request : stackSet ? row.stack[1] : row.code;
            const from = requestSet ? "submit value" : stackSet ? "stack default" : "code default";
            it(`${setting}: submit ${requestSet ? "set" : "blank"}, ${row.key} ${stackSet ? "set" : "unset"} → ${from}`, async () => {
                const stack: Record<string, string> = stackSet ? { [row.key]: row.stack[0] } : {};
                // A stack job smaller than the code default must hold the stack's default workers too (the config
                // check refuses the stack otherwise): two workers fit every size of the table.
                if (stackSet && (setting === "vcpus" || setting === "memory_mib")) {
                    stack.formSenderDefaultWorkersPerWorkflow = "2";
                }
                const input = await submitted(stack, body(setting, requestSet ? row.request : undefined));
                assert.equal(row.effective(input), expected);
            });
        }
    }

    it("a malformed variable stops the cold start naming the variable, the value and the fix", () => {
        assert.throws(
            () => stackDefaultsFromEnvironment({ FORM_SENDER_DEFAULT_WORKERS_PER_WORKFLOW: "17" }),
            /^Error: FORM_SENDER_DEFAULT_WORKERS_PER_WORKFLOW must be an integer from 1 to 16, got "17"; it comes from the stack config \(Pulumi.<stack>.yaml formSender\* keys\): fix the key and run pulumi up$/,
        );
    });
});
