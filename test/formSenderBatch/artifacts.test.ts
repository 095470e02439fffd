/**
 * The form-sender Lambdas as deployed: each CallbackFunction's serialized code and code-path
 * packages from the plan, written to disk and invoked in a fresh node process (NODE_PATH holding
 * only the AWS SDK, as the runtime provides it) against local Supabase, S3, Secrets Manager,
 * Batch, EC2 and SNS. The submit → state change path runs end to end through both functions.
 */
import { strict as assert } from "assert";
import { SubmitJobCommandInput } from "@aws-sdk/client-batch";
import { ApiResult } from "../../functions/formSender/dispatcher";
import { BatchEventOutcome } from "../../functions/formSender/batchEvents";
import { planFor, Plan } from "../harness";
import { AwsApiServer, startAwsApiServer } from "../support/awsApiServer";
import { invokeLambda, LambdaArtifact, writeLambdaPackage } from "../support/lambdaArtifact";
import { S3Server, startS3Server } from "../support/s3Server";
import { SecretsManagerServer, startSecretsManager } from "../support/secretsManagerServer";
import { LocalSupabase, startSupabase } from "../support/supabase";
import { LambdaFunctionInputs } from "../support/planShapes";

const FN = "aws:lambda/function:Function";
/** Secret config values the plan is made with: none may reach the serialized code. */
const PLAN_SECRETS = {
    formSenderSupabaseUrl: "https://artifactsecretref.supabase.co",
    formSenderSupabaseServiceRoleKey: "sb_secret_artifactScanToken7f3e9a1c",
};
/** The dispatcher's answer to a submit, from the response body. */
interface SubmitAnswer {
    execution_id: string;
    job_id: string;
    array_size: number;
}

/** spot-watch's outcome, as the fields read here. */
interface SpotWatchResult {
    action: string;
    maxvCpus?: number;
}

/** The container environment a submitted job overrides, as name → value. */
const envOf = (job: SubmitJobCommandInput): Record<string, string | undefined> =>
    Object.fromEntries(
        (job.containerOverrides?.environment ?? []).map((e): [string, string | undefined] => [String(e.name), e.value]),
    );

const CONFIG = {
    client: {
        company_name: "株式会社テストコネクト",
        last_name: "山田",
        first_name: "太郎",
        email: "t.yamada@example.com",
        phone: "03-1234-5678",
    },
    message: { subject: "ご提案", body: "お世話になっております。" },
};

describe("form-sender deployment artifacts", function () {
    this.timeout(180000);
    let plan: Plan;
    let sb: LocalSupabase;
    let s3: S3Server;
    let aws: AwsApiServer;
    let sm: SecretsManagerServer;
    const artifacts = new Map<string, LambdaArtifact>();

    before(async () => {
        plan = await planFor("stg", { secrets: PLAN_SECRETS });
        [sb, s3, aws] = await Promise.all([startSupabase(), startS3Server(), startAwsApiServer()]);
        // The functions read the Supabase URL and key from the secrets the component creates.
        sm = await startSecretsManager((id) =>
            /:secret:\/fs-runner\/stg\/supabase\/url-/.test(id)
                ? sb.url
                : /:secret:\/fs-runner\/stg\/supabase\/key-/.test(id)
                  ? sb.serviceRoleKey
                  : undefined,
        );
        for (const name of ["form-sender-dispatcher", "form-sender-batch-events", "form-sender-spot-watch"]) {
            artifacts.set(name, writeLambdaPackage(plan.inputs<LambdaFunctionInputs>(FN, name).code));
        }
    });
    after(async () => {
        for (const a of artifacts.values()) a.remove();
        await Promise.all([sb?.stop(), s3?.close(), aws?.close(), sm?.close()]);
    });

    /** Invokes the function `name`; `T` is the result the test expects from it. */
    const invoke = <T>(name: string, event: unknown) =>
        invokeLambda<T>(artifacts.get(name)!.dir, event, {
            ...(plan.inputs<LambdaFunctionInputs>(FN, name).environment?.variables ?? {}),
            AWS_REGION: "us-east-1",
            AWS_ACCESS_KEY_ID: "AKIDARTIFACTTEST",
            AWS_SECRET_ACCESS_KEY: "artifact-test",
            AWS_ENDPOINT_URL_S3: s3.endpoint,
            AWS_ENDPOINT_URL_BATCH: aws.endpoint,
            AWS_ENDPOINT_URL_EC2: aws.endpoint,
            AWS_ENDPOINT_URL_SNS: aws.endpoint,
            AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
            AWS_LAMBDA_FUNCTION_NAME: plan.inputs<LambdaFunctionInputs>(FN, name).name,
        });

    it("bundles only what each function uses, with their dependencies: no SDK client (the runtime provides them), playwright, pg or supabase-js", () => {
        const node = ["@supabase/node-fetch", "@supabase/postgrest-js", "tr46", "webidl-conversions", "whatwg-url"];
        assert.deepEqual(Object.fromEntries([...artifacts].map(([n, a]) => [n, [...a.packages].sort()])), {
            "form-sender-dispatcher": [
                ...node,
                "ajv",
                "ajv-formats",
                "fast-deep-equal",
                "fast-uri",
                "json-schema-traverse",
                "require-from-string",
            ].sort(),
            "form-sender-batch-events": node,
            "form-sender-spot-watch": [],
        });
    });

    it("carries no secret value in the serialized code", () => {
        for (const [name, a] of artifacts) {
            for (const value of Object.values(PLAN_SECRETS))
                assert.ok(!a.text.includes(value), `${name} carries a secret`);
            assert.ok(!a.text.includes("artifactsecretref"), name);
        }
    });

    it("dispatcher then batch-events: submit stores the config, records the execution and submits the array job; success is recorded and the config deleted", async () => {
        const submit = await invoke<ApiResult>("form-sender-dispatcher", {
            resource: "/form-sender/submit",
            path: "/form-sender/submit",
            httpMethod: "POST",
            headers: { "content-type": "application/json" },
            requestContext: {
                requestId: "req-artifact-1",
                identity: { userArn: "arn:aws:iam::123456789012:user/ops-platform/fs-stg-gas" },
            },
            body: JSON.stringify({
                targeting_id: "T900",
                client_config: CONFIG,
                execution: { run_total: 2, shards: 2 },
                test_mode: true,
            }),
            isBase64Encoded: false,
        });
        assert.deepEqual(submit.foreign, [], "every module came from the bundle or the runtime's SDK");
        assert.equal(submit.result.statusCode, 200, submit.result.body);
        const out = JSON.parse(submit.result.body) as SubmitAnswer;
        assert.equal(out.job_id, "local-job-1");
        assert.equal(out.array_size, 2);

        assert.equal(aws.submittedJobs.length, 1);
        const job = aws.submittedJobs[0];
        // On-demand fallback is off unless the targeting or the stack allows it (seed 003 §7).
        assert.equal(job.jobQueue, plan.inputs("aws:batch/jobQueue:JobQueue", "form-sender-queue-spot").name);
        assert.deepEqual(job.arrayProperties, { size: 2 });
        const env = envOf(job);
        // The stack's job size and default workers reached the deployed function through its environment.
        assert.deepEqual(job.containerOverrides?.resourceRequirements, [
            { type: "VCPU", value: "4" },
            { type: "MEMORY", value: "7680" },
        ]);
        assert.equal(env.FORM_SENDER_WORKERS, "7"); // Pulumi.yaml formSenderDefaultWorkersPerWorkflow
        assert.equal(env.FORM_SENDER_EXECUTION_ID, out.execution_id);
        const configUrl = env.FORM_SENDER_CLIENT_CONFIG_URL ?? "";
        const [, bucket, key] = /^s3:\/\/([^/]+)\/(.+)$/.exec(configUrl)!;
        assert.equal(bucket, (plan.run.outputs.formSender as { bucket: string }).bucket);
        assert.deepEqual(JSON.parse(s3.objects.get(`${bucket}/${key}`)!.body.toString()), CONFIG);
        const row = (
            await sb.db.query<{ status: string; job_id: string; array_size: number }>(
                "select status, job_id, array_size from job_executions where id = $1",
                [out.execution_id],
            )
        ).rows[0];
        assert.deepEqual(row, { status: "submitted", job_id: "local-job-1", array_size: 2 });
        assert.ok(
            sm.requests.some((id) => id.includes("/supabase/url-")) &&
                sm.requests.some((id) => id.includes("/supabase/key-")),
            "Supabase URL and key read from Secrets Manager",
        );
        assert.ok(!JSON.stringify(submit.logs).includes("t.yamada@example.com"), "logs are sanitized");

        const changed = await invoke<BatchEventOutcome>("form-sender-batch-events", {
            version: "0",
            id: "event-1",
            "detail-type": "Batch Job State Change",
            source: "aws.batch",
            account: "123456789012",
            time: "2026-11-23T02:00:00Z",
            region: "us-east-1",
            resources: [`arn:aws:batch:us-east-1:123456789012:job/${out.job_id}`],
            detail: {
                jobId: out.job_id,
                jobName: job.jobName,
                jobQueue: job.jobQueue,
                jobDefinition: job.jobDefinition,
                status: "SUCCEEDED",
                arrayProperties: { size: 2 },
                container: { environment: job.containerOverrides?.environment },
                tags: job.tags,
            },
        });
        assert.deepEqual(changed.foreign, []);
        assert.deepEqual(changed.result, {
            action: "recorded",
            executionId: out.execution_id,
            status: "succeeded",
            attempts: 0,
        });
        assert.equal(
            (
                await sb.db.query<{ status: string }>("select status from job_executions where id = $1", [
                    out.execution_id,
                ])
            ).rows[0].status,
            "succeeded",
        );
        assert.equal(s3.objects.has(`${bucket}/${key}`), false, "the client config is deleted after success");
    });

    it("dispatcher upload route: the presigned URL it returns stores the config, which a submit by object key then uses", async () => {
        const apiEvent = (p: string, body: unknown) => ({
            resource: p,
            path: p,
            httpMethod: "POST",
            headers: { "content-type": "application/json" },
            requestContext: {
                requestId: "req-artifact-upload",
                identity: { userArn: "arn:aws:iam::123456789012:user/ops-platform/fs-stg-gas" },
            },
            body: JSON.stringify(body),
            isBase64Encoded: false,
        });
        const up = await invoke<ApiResult>(
            "form-sender-dispatcher",
            apiEvent("/form-sender/client-config-upload", { targeting_id: "T901" }),
        );
        assert.deepEqual(up.foreign, [], "every module came from the bundle or the runtime's SDK clients");
        assert.equal(up.result.statusCode, 200, up.result.body);
        const { url, key } = JSON.parse(up.result.body) as { url: string; key: string };
        const bucket = (plan.run.outputs.formSender as { bucket: string }).bucket;
        assert.ok(url.startsWith(`${s3.endpoint}/${bucket}/${key}?`), url);
        const signed = new URL(url).searchParams;
        assert.equal(signed.get("X-Amz-Algorithm"), "AWS4-HMAC-SHA256");
        assert.match(signed.get("X-Amz-Credential")!, /^AKIDARTIFACTTEST\/\d{8}\/us-east-1\/s3\/aws4_request$/);
        assert.equal(signed.get("X-Amz-Expires"), "900");
        assert.match(signed.get("X-Amz-Signature")!, /^[0-9a-f]{64}$/);
        const put = await fetch(url, {
            method: "PUT",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(CONFIG),
        });
        assert.equal(put.status, 200);

        const jobsBefore = aws.submittedJobs.length;
        const submit = await invoke<ApiResult>(
            "form-sender-dispatcher",
            apiEvent("/form-sender/submit", {
                targeting_id: "T901",
                client_config_object: key,
                execution: { run_total: 1 },
            }),
        );
        assert.equal(submit.result.statusCode, 200, submit.result.body);
        const env = envOf(aws.submittedJobs[jobsBefore]);
        assert.equal(env.FORM_SENDER_CLIENT_CONFIG_URL, `s3://${bucket}/${key}`);
    });

    it("spot-watch lowers Spot capacity and alerts when Spot costs more than the threshold, then restores it", async () => {
        const types = plan.inputs<{ computeResources: { instanceTypes: string[] } }>(
            "aws:batch/computeEnvironment:ComputeEnvironment",
            "form-sender-spot-ce",
        ).computeResources.instanceTypes;
        const onDemand: Record<string, number> = { "c6a.xlarge": 0.153, "c5a.xlarge": 0.154, "c6i.xlarge": 0.17 };
        const at = new Date();
        aws.spotPrices = types.map((t) => ({
            instanceType: t,
            availabilityZone: "us-east-1a",
            price: onDemand[t] * 0.95,
            timestamp: at,
        }));
        const callsBefore = aws.calls.length;
        const event = {
            version: "0",
            id: "e",
            "detail-type": "Scheduled Event",
            source: "aws.events",
            account: "123456789012",
            time: at.toISOString(),
            region: "us-east-1",
            resources: [],
            detail: {},
        };

        const high = await invoke<SpotWatchResult>("form-sender-spot-watch", event);
        assert.deepEqual(high.foreign, []);
        assert.equal(high.result.action, "reduced");
        const [ce] = [...aws.computeEnvironments.values()];
        assert.equal(ce.maxvCpus, high.result.maxvCpus);
        assert.ok(ce.maxvCpus < aws.defaultMaxvCpus);
        assert.equal(ce.tags["ops:spot-watch"], "reduced");
        assert.equal(aws.published.length, 1);
        assert.match(
            aws.published[0].subject!,
            /^\[stg\] Spot price at 95(\.0)?% of on-demand: Spot capacity lowered$/,
        );
        assert.match(aws.published[0].topicArn, /^arn:aws:sns:us-east-1:\d{12}:ops-platform-stg-alerts-us-east-1$/);

        aws.spotPrices = types.map((t) => ({
            instanceType: t,
            availabilityZone: "us-east-1a",
            price: onDemand[t] * 0.3,
            timestamp: new Date(),
        }));
        const low = await invoke<SpotWatchResult>("form-sender-spot-watch", event);
        assert.equal(low.result.action, "restored");
        assert.equal(ce.maxvCpus, low.result.maxvCpus);
        assert.equal(ce.tags["ops:spot-watch"], undefined);
        assert.deepEqual(aws.calls.slice(callsBefore), [
            "ec2.DescribeSpotPriceHistory",
            "batch.DescribeComputeEnvironments",
            "batch.UpdateComputeEnvironment",
            "batch.TagResource",
            "sns.Publish",
            "ec2.DescribeSpotPriceHistory",
            "batch.DescribeComputeEnvironments",
            "batch.UpdateComputeEnvironment",
            "batch.UntagResource",
            "sns.Publish",
        ]);
    });
});
