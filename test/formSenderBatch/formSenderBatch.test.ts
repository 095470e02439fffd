import { strict as assert } from "assert";
import { gasPropertiesFromOutputs } from "../../scripts/gas-config";
import { inputsOf, json, Plan, planFor } from "../harness";
import { LambdaFunctionInputs, PolicyDocument } from "../support/planShapes";

const ACCOUNT = "123456789012";
const T = {
    ce: "aws:batch/computeEnvironment:ComputeEnvironment",
    queue: "aws:batch/jobQueue:JobQueue",
    jobDef: "aws:batch/jobDefinition:JobDefinition",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    fn: "aws:lambda/function:Function",
    method: "aws:apigateway/method:Method",
};
/** Compute environment inputs, as read here. */
interface ComputeEnvironmentInputs {
    computeResources: {
        type: string;
        allocationStrategy: string;
        instanceTypes: string[];
        minVcpus: number;
        maxVcpus: number;
        ec2Configurations?: { imageType: string }[];
    };
}

/** The job definition's `containerProperties`, parsed. */
interface ContainerProperties {
    environment: { name: string; value: string }[];
    secrets?: { name: string; valueFrom: string }[];
    linuxParameters?: unknown;
    resourceRequirements?: unknown;
}

/** A rule of the bucket lifecycle configuration. */
interface LifecycleRule {
    id: string;
    expiration?: { days: number };
    abortIncompleteMultipartUpload?: { daysAfterInitiation: number };
}

/** Statements allowed a "*" resource, each because AWS offers no resource-level permission. */
// ListQueuedJobs: batch:ListJobs names no resource type (Service Authorization Reference, list_awsbatch).
const STAR_ALLOWED = new Set(["EcrAuth", "Tracing", "ReadPricesAndCapacity", "ListQueuedJobs"]);

describe("FormSenderBatch", function () {
    this.timeout(120000);
    const plans: Record<string, Plan> = {};
    const secret = "sb-service-role-5f1e9a7c-test-secret";
    before(async () => {
        plans.stg = await planFor("stg");
        plans.prd = await planFor("prd", {
            secrets: {
                formSenderSupabaseServiceRoleKey: secret,
                formSenderSupabaseUrl: "https://abcdefghijkl.supabase.co",
            },
        });
    });

    for (const stack of ["stg", "prd"]) {
        describe(`${stack} stack`, () => {
            const p = () => plans[stack];
            it("runs in us-east-1 with every resource on that provider", () => {
                const comp = p().get("ops:formsender:FormSenderBatch", "form-sender");
                const east = new Set(
                    p()
                        .inRegion("us-east-1")
                        .map((r) => r.urn),
                );
                for (const r of p()
                    .descendants(comp.urn)
                    .filter((r) => r.custom))
                    assert.ok(east.has(r.urn), r.urn);
            });

            it("builds a Spot CE (capacity-optimized, c6a.xlarge first) and an on-demand CE with the same types", () => {
                const spot = p().inputs<ComputeEnvironmentInputs>(T.ce, "form-sender-spot-ce").computeResources;
                assert.equal(spot.type, "SPOT");
                // The Spot strategy the provider updates in place (see computeUpdates.test.ts).
                assert.equal(spot.allocationStrategy, "SPOT_CAPACITY_OPTIMIZED");
                assert.equal(spot.instanceTypes[0], "c6a.xlarge");
                assert.ok(spot.instanceTypes.length >= 3);
                assert.deepEqual([spot.minVcpus, spot.maxVcpus], [0, stack === "prd" ? 400 : 16]);
                assert.deepEqual(spot.ec2Configurations, [{ imageType: "ECS_AL2023" }]);
                const od = p().inputs<ComputeEnvironmentInputs>(T.ce, "form-sender-ondemand-ce").computeResources;
                assert.deepEqual(
                    [od.type, od.allocationStrategy, od.instanceTypes, od.minVcpus],
                    ["EC2", "BEST_FIT_PROGRESSIVE", spot.instanceTypes, 0],
                );
                assert.deepEqual(od.maxVcpus, stack === "prd" ? 200 : 8);
            });

            it("has three queues in the documented order, cancelling capacity-starved jobs", () => {
                const q = (n: string) => p().inputs(T.queue, `form-sender-queue-${n}`);
                // Auto-named compute environments: the mock names them after the logical name.
                const spotCe = `arn:aws:batch:us-east-1:${ACCOUNT}:compute-environment/form-sender-spot-ce`;
                const odCe = `arn:aws:batch:us-east-1:${ACCOUNT}:compute-environment/form-sender-ondemand-ce`;
                assert.deepEqual(q("spot").computeEnvironmentOrders, [{ order: 1, computeEnvironment: spotCe }]);
                assert.deepEqual(q("spot-then-ondemand").computeEnvironmentOrders, [
                    { order: 1, computeEnvironment: spotCe },
                    { order: 2, computeEnvironment: odCe },
                ]);
                assert.deepEqual(q("ondemand").computeEnvironmentOrders, [{ order: 1, computeEnvironment: odCe }]);
                const runnable = (stack === "prd" ? 30 : 20) * 60;
                // Reasons, CANCEL/RUNNABLE and the 600-86,400 s range: AWS Batch API reference
                // JobStateTimeLimitAction and user guide job_stuck_in_runnable_time_limit_actions.html.
                const misconfiguration = [
                    {
                        action: "CANCEL",
                        maxTimeSeconds: 600,
                        reason: "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
                        state: "RUNNABLE",
                    },
                    {
                        action: "CANCEL",
                        maxTimeSeconds: runnable,
                        reason: "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE",
                        state: "RUNNABLE",
                    },
                ];
                const limit = [
                    {
                        action: "CANCEL",
                        maxTimeSeconds: runnable,
                        reason: "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
                        state: "RUNNABLE",
                    },
                    ...misconfiguration,
                ];
                assert.deepEqual(q("spot").jobStateTimeLimitActions, limit);
                assert.deepEqual(q("spot-then-ondemand").jobStateTimeLimitActions, limit);
                // On demand there is no fallback for a shortage, but a job no instance can hold is still cancelled.
                assert.deepEqual(q("ondemand").jobStateTimeLimitActions, misconfiguration);
                for (const label of ["spot", "spot-then-ondemand", "ondemand"]) {
                    for (const a of q(label).jobStateTimeLimitActions as { maxTimeSeconds: number }[]) {
                        assert.ok(a.maxTimeSeconds >= 600 && a.maxTimeSeconds <= 86_400, JSON.stringify(a));
                    }
                }
            });

            it("defines the runner job with retries ending in EXIT, secret ARNs, init process and shared memory", () => {
                const jd = p().inputs(T.jobDef, "form-sender-job");
                assert.deepEqual(jd.retryStrategy, {
                    attempts: 3,
                    evaluateOnExits: [
                        { onStatusReason: "Host EC2*", action: "RETRY" },
                        { onReason: "CannotPullContainerError:*", action: "RETRY" },
                        { onReason: "*", action: "EXIT" },
                    ],
                });
                assert.deepEqual(jd.timeout, { attemptDurationSeconds: 28800 });
                const c = json<ContainerProperties>(jd.containerProperties);
                assert.deepEqual(c.environment[0], { name: "FORM_SENDER_ENV", value: "aws_batch" });
                // Issue 19: the runner reads the Supabase secrets by ARN with its job role; no value is injected
                // into the container's environment (`secrets`), where Chromium could read it. Its key is its own
                // (runner-key: fs_runner, its RPCs only), not the service-role key the functions read.
                const secretArns = [`/fs-runner/${stack}/supabase/url`, `/fs-runner/${stack}/supabase/runner-key`].map(
                    (n) => `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${n}-AbCdEf`,
                );
                assert.equal(c.secrets, undefined);
                assert.deepEqual(
                    c.environment.filter((e) => e.name.endsWith("_SECRET_ARN")),
                    [
                        { name: "SUPABASE_URL_SECRET_ARN", value: secretArns[0] },
                        { name: "SUPABASE_KEY_SECRET_ARN", value: secretArns[1] },
                    ],
                );
                assert.deepEqual(c.linuxParameters, { initProcessEnabled: true, sharedMemorySize: 2048 });
                assert.deepEqual(c.resourceRequirements, [
                    { type: "VCPU", value: "4" },
                    { type: "MEMORY", value: "7680" },
                ]);
                assert.equal(
                    p().inputs("aws:ssm/parameter:Parameter", "form-sender-job-definition").name,
                    `/fs-runner/${stack}/batch/job-definition`,
                );
                assert.deepEqual(json<PolicyDocument>(p().inputs(T.rolePolicy, "form-sender-job").policy).Statement, [
                    {
                        Sid: "ReadClientConfig",
                        Effect: "Allow",
                        Action: ["s3:GetObject"],
                        Resource: `arn:aws:s3:::form-sender-configs/client-config/*`,
                    },
                    {
                        Sid: "ReadSupabaseSecrets",
                        Effect: "Allow",
                        Action: ["secretsmanager:GetSecretValue"],
                        Resource: secretArns,
                    },
                ]);
                const execution = json<PolicyDocument>(p().inputs(T.rolePolicy, "form-sender-job-execution").policy);
                assert.ok(
                    !JSON.stringify(execution).includes("secretsmanager"),
                    "the execution role no longer reads the Supabase secrets",
                );
            });

            it("lets the dispatcher list the bucket so a missing upload is 404 NoSuchKey, not 403", () => {
                // S3 answers GetObject of a missing key with 403 AccessDenied to a caller without
                // s3:ListBucket (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html,
                // Permissions); the dispatcher's "upload it first" answer relies on the 404.
                const statements = json<PolicyDocument>(
                    p().inputs(T.rolePolicy, "form-sender-dispatcher").policy,
                ).Statement;
                assert.deepEqual(
                    statements.find((s) => s.Sid === "ListClientConfigs"),
                    {
                        Sid: "ListClientConfigs",
                        Effect: "Allow",
                        Action: ["s3:ListBucket"],
                        Resource: "arn:aws:s3:::form-sender-configs",
                    },
                );
            });

            it("protects the client-config bucket: public access blocked, TLS only, lifecycle", () => {
                const pab = p().inputs("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "form-sender-configs");
                assert.deepEqual(
                    [pab.blockPublicAcls, pab.blockPublicPolicy, pab.ignorePublicAcls, pab.restrictPublicBuckets],
                    [true, true, true, true],
                );
                const pol = json<PolicyDocument>(
                    p().inputs("aws:s3/bucketPolicy:BucketPolicy", "form-sender-configs").policy,
                ).Statement[0];
                assert.deepEqual([pol.Effect, pol.Condition], ["Deny", { Bool: { "aws:SecureTransport": "false" } }]);
                const rules = p().inputs<{ rules: LifecycleRule[] }>(
                    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
                    "form-sender-configs",
                ).rules;
                assert.deepEqual(
                    rules.map((r) => [
                        r.id,
                        r.expiration?.days ?? r.abortIncompleteMultipartUpload?.daysAfterInitiation,
                    ]),
                    [
                        ["expire-client-configs", 7],
                        ["backstop-30-days", 30],
                        ["abort-incomplete-uploads", 1],
                    ],
                );
                assert.equal(
                    p().inputs<{ rule: { objectOwnership: string } }>(
                        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
                        "form-sender-configs",
                    ).rule.objectOwnership,
                    "BucketOwnerEnforced",
                );
            });

            it("authorizes every API method with IAM, throttles the stage and attaches a rate-based WAF", () => {
                const methods = p().ofType(T.method);
                // submit, client-config-upload, executions (list), executions/{id}, executions/{id}/cancel
                assert.equal(methods.length, 5);
                for (const m of methods) assert.equal(m.inputs.authorization, "AWS_IAM", m.name);
                const settings = p().inputs<{
                    settings: { throttlingBurstLimit: number; throttlingRateLimit: number };
                }>("aws:apigateway/methodSettings:MethodSettings", "form-sender-api").settings;
                assert.deepEqual([settings.throttlingBurstLimit, settings.throttlingRateLimit], [50, 10]);
                const waf = p().inputs<{ rules: { statement: unknown }[] }>(
                    "aws:wafv2/webAcl:WebAcl",
                    "form-sender-api-waf",
                );
                assert.deepEqual(waf.rules[0].statement, {
                    rateBasedStatement: { limit: 1000, aggregateKeyType: "IP" },
                });
                assert.ok(p().ofType("aws:wafv2/webAclAssociation:WebAclAssociation").length === 1);
                const gas = json<PolicyDocument>(
                    p().inputs("aws:iam/userPolicy:UserPolicy", "form-sender-gas").policy,
                ).Statement;
                assert.deepEqual(
                    gas.map((s) => s.Action),
                    [["execute-api:Invoke"]],
                );
                assert.ok(
                    (gas[0].Resource as string[]).every((r) =>
                        r.startsWith(`arn:aws:execute-api:us-east-1:${ACCOUNT}:a1b2c3d4e5/${stack}/`),
                    ),
                );
            });

            it("gives each Lambda an explicit role, nodejs22.x, timeout, memory and active tracing", () => {
                const fns = p()
                    .ofType(T.fn)
                    .filter((f) => f.name.startsWith("form-sender-"));
                assert.deepEqual(fns.map((f) => f.name).sort(), [
                    "form-sender-batch-events",
                    "form-sender-dispatcher",
                    "form-sender-spot-watch",
                ]);
                for (const f of fns.map((x) => ({ inputs: inputsOf<LambdaFunctionInputs>(x) }))) {
                    assert.equal(f.inputs.runtime, "nodejs22.x");
                    assert.match(f.inputs.role, /^arn:aws:iam::\d{12}:role\/form-sender-/);
                    assert.ok(f.inputs.timeout > 0 && f.inputs.memorySize >= 128);
                    assert.deepEqual(f.inputs.tracingConfig, { mode: "Active" });
                }
                // Lambda keeps 100 of the account's concurrency unreserved and new accounts start with low quotas
                // (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html), so stg reserves
                // none: the property is absent (0 would throttle every invocation).
                assert.equal(
                    p().inputs(T.fn, "form-sender-dispatcher").reservedConcurrentExecutions,
                    stack === "prd" ? 20 : undefined,
                );
                for (const n of ["form-sender-batch-events", "form-sender-spot-watch"])
                    assert.match(
                        p().inputs<LambdaFunctionInputs>(T.fn, n).deadLetterConfig?.targetArn ?? "",
                        /:fs-\w+-functions-dlq$/,
                    );
            });

            it("never grants a * action, and * resources only where AWS allows nothing narrower", () => {
                const comp = p().get("ops:formsender:FormSenderBatch", "form-sender");
                const policies = p()
                    .descendants(comp.urn)
                    .filter((r) => r.type === T.rolePolicy || r.type === "aws:iam/userPolicy:UserPolicy");
                assert.ok(policies.length >= 6);
                for (const pol of policies) {
                    for (const s of json<PolicyDocument>(pol.inputs.policy).Statement) {
                        for (const a of [s.Action].flat())
                            assert.ok(!a.includes("*"), `${pol.name}/${s.Sid} grants ${a}`);
                        if ([s.Resource].flat().includes("*"))
                            assert.ok(STAR_ALLOWED.has(s.Sid ?? ""), `${pol.name}/${s.Sid} uses * resource`);
                        if ([s.Action].flat().includes("iam:PassRole"))
                            assert.deepEqual(s.Condition, {
                                StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" },
                            });
                    }
                }
            });

            it("routes only this stack's queues' job events to batch-events and runs spot-watch every 15 minutes", () => {
                const pattern = json<{ source: string[]; detail: { jobQueue: string[] } }>(
                    p().inputs("aws:cloudwatch/eventRule:EventRule", "form-sender-batch-state").eventPattern,
                );
                assert.deepEqual(pattern.source, ["aws.batch"]);
                assert.deepEqual(
                    pattern.detail.jobQueue.map((q) => q.split("/").pop()),
                    [`fs-${stack}-spot`, `fs-${stack}-spot-then-ondemand`, `fs-${stack}-ondemand`],
                );
                assert.equal(
                    p().inputs("aws:cloudwatch/eventRule:EventRule", "form-sender-spot-watch").scheduleExpression,
                    "rate(15 minutes)",
                );
            });

            it("exports the GAS Script Properties with the secret key kept secret", () => {
                const g = p().outputs.gasScriptProperties as Record<string, string>;
                assert.deepEqual(Object.keys(g).sort(), [
                    "FORM_SENDER_AWS_ACCESS_KEY_ID",
                    "FORM_SENDER_AWS_API_BASE_URL",
                    "FORM_SENDER_AWS_REGION",
                    "FORM_SENDER_AWS_SECRET_ACCESS_KEY",
                    "FORM_SENDER_S3_BUCKET",
                ]);
                // Pasting the output must not switch routing (USE_AWS_BATCH is a human step after the pilot), and
                // no GAS file reads FORM_SENDER_ENV.
                assert.ok(!("USE_AWS_BATCH" in g) && !("FORM_SENDER_ENV" in g));
                assert.equal(g.FORM_SENDER_AWS_SECRET_ACCESS_KEY, "[secret]");
                assert.equal(
                    g.FORM_SENDER_AWS_API_BASE_URL,
                    `https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/${stack}`,
                );
                assert.equal(g.FORM_SENDER_AWS_REGION, "us-east-1");
            });
        });
    }

    it("keeps secret config out of the plan and the serialized Lambda code", () => {
        const text = JSON.stringify(plans.prd.run);
        assert.ok(!text.includes(secret));
        assert.ok(!text.includes("abcdefghijkl.supabase.co"));
        assert.equal(
            plans.prd.inputs("aws:secretsmanager/secretVersion:SecretVersion", "form-sender-supabase-key").secretString,
            "[secret]",
        );
    });

    it("gas-config turns stack outputs into the Script Properties and refuses hidden secrets", () => {
        const outputs = { gasScriptProperties: { USE_AWS_BATCH: "true", FORM_SENDER_AWS_SECRET_ACCESS_KEY: "abc" } };
        assert.deepEqual(gasPropertiesFromOutputs(JSON.stringify(outputs), "stg"), outputs.gasScriptProperties);
        assert.throws(
            () =>
                gasPropertiesFromOutputs(
                    JSON.stringify({ gasScriptProperties: { FORM_SENDER_AWS_SECRET_ACCESS_KEY: "[secret]" } }),
                    "stg",
                ),
            /--show-secrets/,
        );
        assert.throws(
            () => gasPropertiesFromOutputs("{}", "prd"),
            /stack 'prd' has no gasScriptProperties output; run pulumi up/,
        );
    });
});
