/**
 * Contract of the AWS stand-ins (test/support/awsApiServer.ts, s3Server.ts, secretsManagerServer.ts):
 * for every operation the project's code calls, one row for its success answer and one for each error
 * the code handles, each taken from the AWS API reference named in the row. The calls go through the
 * real SDK clients (one attempt, no SDK retries), so a row also proves the stand-in speaks the wire
 * protocol the SDK parses. New stand-in behaviour is added here first.
 */
import { strict as assert } from "assert";
import { createHash } from "crypto";
import {
    BatchClient,
    DescribeComputeEnvironmentsCommand,
    SubmitJobCommand,
    TagResourceCommand,
    TerminateJobCommand,
    UntagResourceCommand,
    UpdateComputeEnvironmentCommand,
} from "@aws-sdk/client-batch";
import { DescribeSpotPriceHistoryCommand, EC2Client } from "@aws-sdk/client-ec2";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { AWS_ERRORS, startAwsApiServer, type AwsApiServer } from "../support/awsApiServer";
import { S3_ERRORS, startS3Server, type S3Server } from "../support/s3Server";
import {
    SECRETS_MANAGER_ERRORS,
    startSecretsManager,
    type SecretsManagerServer,
} from "../support/secretsManagerServer";

const CE = "arn:aws:batch:us-east-1:123456789012:compute-environment/fs-spot";
const TOPIC = "arn:aws:sns:us-east-1:123456789012:fs-alerts";
const SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:/fs-runner/stg/supabase/key-AbCdEf";

interface Clients {
    readonly batch: BatchClient;
    readonly ec2: EC2Client;
    readonly sns: SNSClient;
    readonly s3: S3Client;
    readonly secrets: SecretsManagerClient;
}

interface Stand {
    readonly aws: AwsApiServer;
    readonly s3: S3Server;
    readonly secrets: SecretsManagerServer;
}

/** What the SDK surfaces for an error answer: the error's name and the HTTP status. */
interface ExpectedError {
    readonly name: string;
    readonly status: number;
}

interface Row {
    readonly operation: string;
    /** "success" or the error the row is about. */
    readonly answer: string;
    /** Where the expected answer comes from. */
    readonly source: string;
    readonly arrange?: (stand: Stand) => void | Promise<void>;
    readonly call: (c: Clients) => Promise<unknown>;
    readonly expect: ExpectedError | ((out: unknown) => void | Promise<void>);
}

const BATCH_REF = "https://docs.aws.amazon.com/batch/latest/APIReference";
const submit = (c: Clients) =>
    c.batch.send(new SubmitJobCommand({ jobName: "stg-fs-T1", jobQueue: "fs-spot", jobDefinition: "fs-runner" }));

const ROWS: readonly Row[] = [
    {
        operation: "batch.SubmitJob",
        answer: "success",
        source: `${BATCH_REF}/API_SubmitJob.html#API_SubmitJob_ResponseSyntax (jobArn, jobName, jobId)`,
        call: submit,
        expect: (out) => {
            const o = out as { jobArn?: string; jobName?: string; jobId?: string };
            assert.equal(o.jobName, "stg-fs-T1");
            assert.match(o.jobId ?? "", /\S/);
            assert.match(o.jobArn ?? "", /^arn:aws:batch:[a-z0-9-]+:\d{12}:job\/\S+$/);
        },
    },
    {
        operation: "batch.SubmitJob",
        answer: "TooManyRequestsException",
        source: "https://repost.aws/knowledge-center/aws-batch-requests-error (Status Code: 429)",
        arrange: (s) => s.aws.failNext("batch.SubmitJob", AWS_ERRORS.batch.TooManyRequestsException),
        call: submit,
        expect: { name: "TooManyRequestsException", status: 429 },
    },
    {
        operation: "batch.SubmitJob",
        answer: "ClientException",
        source: `${BATCH_REF}/API_SubmitJob.html#API_SubmitJob_Errors (HTTP 400)`,
        arrange: (s) => s.aws.failNext("batch.SubmitJob", AWS_ERRORS.batch.ClientException),
        call: submit,
        expect: { name: "ClientException", status: 400 },
    },
    {
        operation: "batch.SubmitJob",
        answer: "ServerException",
        source: `${BATCH_REF}/API_SubmitJob.html#API_SubmitJob_Errors (HTTP 500)`,
        arrange: (s) => s.aws.failNext("batch.SubmitJob", AWS_ERRORS.batch.ServerException),
        call: submit,
        expect: { name: "ServerException", status: 500 },
    },
    {
        operation: "batch.TerminateJob",
        answer: "success",
        source: `${BATCH_REF}/API_TerminateJob.html#API_TerminateJob_ResponseSyntax (HTTP 200, empty body)`,
        call: (c) => c.batch.send(new TerminateJobCommand({ jobId: "j-1", reason: "cancelled" })),
        expect: (out) => assert.equal((out as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode, 200),
    },
    {
        operation: "batch.TerminateJob",
        answer: "ClientException",
        source: `${BATCH_REF}/API_TerminateJob.html#API_TerminateJob_Errors (HTTP 400)`,
        arrange: (s) => s.aws.failNext("batch.TerminateJob", AWS_ERRORS.batch.ClientException),
        call: (c) => c.batch.send(new TerminateJobCommand({ jobId: "j-1", reason: "cancelled" })),
        expect: { name: "ClientException", status: 400 },
    },
    {
        operation: "batch.DescribeComputeEnvironments",
        answer: "success",
        source: `${BATCH_REF}/API_DescribeComputeEnvironments.html (computeEnvironments[].computeResources.maxvCpus)`,
        call: (c) => c.batch.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [CE] })),
        expect: (out) => {
            const [ce] = (
                out as {
                    computeEnvironments: { computeEnvironmentArn: string; computeResources: { maxvCpus: number } }[];
                }
            ).computeEnvironments;
            assert.equal(ce.computeEnvironmentArn, CE);
            assert.equal(typeof ce.computeResources.maxvCpus, "number");
        },
    },
    {
        operation: "batch.DescribeComputeEnvironments",
        answer: "ServerException",
        source: `${BATCH_REF}/API_DescribeComputeEnvironments.html#API_DescribeComputeEnvironments_Errors`,
        arrange: (s) => s.aws.failNext("batch.DescribeComputeEnvironments", AWS_ERRORS.batch.ServerException),
        call: (c) => c.batch.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [CE] })),
        expect: { name: "ServerException", status: 500 },
    },
    {
        operation: "batch.UpdateComputeEnvironment",
        answer: "success",
        source: `${BATCH_REF}/API_UpdateComputeEnvironment.html#API_UpdateComputeEnvironment_ResponseSyntax`,
        call: (c) =>
            c.batch.send(
                new UpdateComputeEnvironmentCommand({ computeEnvironment: CE, computeResources: { maxvCpus: 4 } }),
            ),
        expect: (out) => assert.equal((out as { computeEnvironmentArn: string }).computeEnvironmentArn, CE),
    },
    {
        operation: "batch.UpdateComputeEnvironment",
        answer: "ClientException",
        source: `${BATCH_REF}/API_UpdateComputeEnvironment.html#API_UpdateComputeEnvironment_Errors (HTTP 400)`,
        arrange: (s) => s.aws.failNext("batch.UpdateComputeEnvironment", AWS_ERRORS.batch.ClientException),
        call: (c) =>
            c.batch.send(
                new UpdateComputeEnvironmentCommand({ computeEnvironment: CE, computeResources: { maxvCpus: 4 } }),
            ),
        expect: { name: "ClientException", status: 400 },
    },
    {
        operation: "batch.TagResource",
        answer: "success",
        source: `${BATCH_REF}/API_TagResource.html (POST /v1/tags/{resourceArn}, HTTP 200)`,
        call: (c) => c.batch.send(new TagResourceCommand({ resourceArn: CE, tags: { state: "reduced" } })),
        expect: (out) => assert.equal((out as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode, 200),
    },
    {
        operation: "batch.TagResource",
        answer: "ClientException",
        source: `${BATCH_REF}/API_TagResource.html#API_TagResource_Errors (HTTP 400)`,
        arrange: (s) => s.aws.failNext("batch.TagResource", AWS_ERRORS.batch.ClientException),
        call: (c) => c.batch.send(new TagResourceCommand({ resourceArn: CE, tags: { state: "reduced" } })),
        expect: { name: "ClientException", status: 400 },
    },
    {
        operation: "batch.UntagResource",
        answer: "success",
        source: `${BATCH_REF}/API_UntagResource.html (DELETE /v1/tags/{resourceArn}?tagKeys=, HTTP 200)`,
        call: (c) => c.batch.send(new UntagResourceCommand({ resourceArn: CE, tagKeys: ["state"] })),
        expect: (out) => assert.equal((out as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode, 200),
    },
    {
        operation: "batch.UntagResource",
        answer: "ClientException",
        source: `${BATCH_REF}/API_UntagResource.html#API_UntagResource_Errors (HTTP 400)`,
        arrange: (s) => s.aws.failNext("batch.UntagResource", AWS_ERRORS.batch.ClientException),
        call: (c) => c.batch.send(new UntagResourceCommand({ resourceArn: CE, tagKeys: ["state"] })),
        expect: { name: "ClientException", status: 400 },
    },
    {
        operation: "ec2.DescribeSpotPriceHistory",
        answer: "success",
        source:
            "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeSpotPriceHistory.html " +
            "(spotPriceHistorySet of SpotPrice: spotPrice is a string)",
        arrange: (s) => {
            s.aws.spotPrices = [
                { instanceType: "c6a.xlarge", availabilityZone: "us-east-1a", price: 0.0612, timestamp: new Date() },
            ];
        },
        call: (c) => c.ec2.send(new DescribeSpotPriceHistoryCommand({ InstanceTypes: ["c6a.xlarge"] })),
        expect: (out) => {
            const [p] = (out as { SpotPriceHistory: { InstanceType: string; SpotPrice: string; Timestamp: Date }[] })
                .SpotPriceHistory;
            assert.deepEqual([p.InstanceType, p.SpotPrice], ["c6a.xlarge", "0.061200"]);
            assert.ok(p.Timestamp instanceof Date);
        },
    },
    {
        operation: "ec2.DescribeSpotPriceHistory",
        answer: "RequestLimitExceeded",
        source: "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html (RequestLimitExceeded)",
        arrange: (s) => s.aws.failNext("ec2.DescribeSpotPriceHistory", AWS_ERRORS.ec2.RequestLimitExceeded),
        call: (c) => c.ec2.send(new DescribeSpotPriceHistoryCommand({ InstanceTypes: ["c6a.xlarge"] })),
        expect: { name: "RequestLimitExceeded", status: 503 },
    },
    {
        operation: "sns.Publish",
        answer: "success",
        source: "https://docs.aws.amazon.com/sns/latest/api/API_Publish.html (PublishResult/MessageId)",
        call: (c) => c.sns.send(new PublishCommand({ TopicArn: TOPIC, Subject: "s", Message: "m" })),
        expect: (out) => assert.match((out as { MessageId?: string }).MessageId ?? "", /\S/),
    },
    {
        operation: "sns.Publish",
        answer: "NotFound",
        source: "https://docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors (HTTP 404)",
        arrange: (s) => s.aws.failNext("sns.Publish", AWS_ERRORS.sns.NotFound),
        call: (c) => c.sns.send(new PublishCommand({ TopicArn: TOPIC, Message: "m" })),
        expect: { name: "NotFoundException", status: 404 },
    },
    {
        operation: "sns.Publish",
        answer: "Throttled",
        source: "https://docs.aws.amazon.com/sns/latest/api/API_Publish.html#API_Publish_Errors (HTTP 429)",
        arrange: (s) => s.aws.failNext("sns.Publish", AWS_ERRORS.sns.Throttled),
        call: (c) => c.sns.send(new PublishCommand({ TopicArn: TOPIC, Message: "m" })),
        expect: { name: "ThrottledException", status: 429 },
    },
    {
        operation: "s3.PutObject",
        answer: "success",
        source: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html (ETag header)",
        call: (c) => c.s3.send(new PutObjectCommand({ Bucket: "cfg", Key: "client-config/a.json", Body: '{"a":1}' })),
        // The ETag of a single-part upload is the quoted MD5 of the body.
        expect: (out) =>
            assert.equal((out as { ETag?: string }).ETag, `"${createHash("md5").update('{"a":1}').digest("hex")}"`),
    },
    {
        operation: "s3.PutObject",
        answer: "SlowDown",
        source: "https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (SlowDown, 503)",
        arrange: (s) => s.s3.failNext("PutObject", S3_ERRORS.SlowDown),
        call: (c) => c.s3.send(new PutObjectCommand({ Bucket: "cfg", Key: "client-config/b.json", Body: "{}" })),
        expect: { name: "SlowDown", status: 503 },
    },
    {
        operation: "s3.GetObject",
        answer: "success",
        source: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html (body, Content-Type)",
        arrange: async (s) => {
            await putDirect(s, "cfg/client-config/read.json", '{"read":true}');
        },
        call: (c) => c.s3.send(new GetObjectCommand({ Bucket: "cfg", Key: "client-config/read.json" })),
        expect: async (out) => {
            const o = out as { Body: { transformToString(): Promise<string> }; ContentType?: string };
            assert.equal(await o.Body.transformToString(), '{"read":true}');
            assert.equal(o.ContentType, "application/json");
        },
    },
    {
        operation: "s3.GetObject",
        answer: "AccessDenied (missing key, no s3:ListBucket)",
        source: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, Permissions (403)",
        call: (c) => c.s3.send(new GetObjectCommand({ Bucket: "cfg", Key: "client-config/none.json" })),
        expect: { name: "AccessDenied", status: 403 },
    },
    {
        operation: "s3.GetObject",
        answer: "NoSuchKey (missing key, s3:ListBucket held)",
        source: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html, Permissions (404)",
        arrange: (s) => void s.s3.listableBuckets.add("listed"),
        call: (c) => c.s3.send(new GetObjectCommand({ Bucket: "listed", Key: "client-config/none.json" })),
        expect: { name: "NoSuchKey", status: 404 },
    },
    {
        operation: "s3.DeleteObject",
        answer: "success (also for a key that is gone)",
        source: "https://docs.aws.amazon.com/AmazonS3/latest/API/API_DeleteObject.html (204 No Content)",
        call: (c) => c.s3.send(new DeleteObjectCommand({ Bucket: "cfg", Key: "client-config/none.json" })),
        expect: (out) => assert.equal((out as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode, 204),
    },
    {
        operation: "s3.DeleteObject",
        answer: "InternalError",
        source: "https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html (InternalError, 500)",
        arrange: (s) => s.s3.failNext("DeleteObject", S3_ERRORS.InternalError),
        call: (c) => c.s3.send(new DeleteObjectCommand({ Bucket: "cfg", Key: "client-config/a.json" })),
        expect: { name: "InternalError", status: 500 },
    },
    {
        operation: "secretsmanager.GetSecretValue",
        answer: "success",
        source:
            "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html " +
            "(ARN, Name, SecretString, VersionStages)",
        call: (c) => c.secrets.send(new GetSecretValueCommand({ SecretId: SECRET })),
        expect: (out) => {
            const o = out as { ARN: string; Name: string; SecretString: string; VersionStages: string[] };
            assert.deepEqual(
                [o.ARN, o.Name, o.SecretString, o.VersionStages],
                [SECRET, "/fs-runner/stg/supabase/key", "sb-key", ["AWSCURRENT"]],
            );
        },
    },
    {
        operation: "secretsmanager.GetSecretValue",
        answer: "ResourceNotFoundException",
        source: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html#API_GetSecretValue_Errors (400)",
        call: (c) => c.secrets.send(new GetSecretValueCommand({ SecretId: `${SECRET}-gone` })),
        expect: { name: "ResourceNotFoundException", status: 400 },
    },
    {
        operation: "secretsmanager.GetSecretValue",
        answer: "InternalServiceError",
        source: "https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html#API_GetSecretValue_Errors (500)",
        arrange: (s) => s.secrets.failNext(SECRETS_MANAGER_ERRORS.InternalServiceError),
        call: (c) => c.secrets.send(new GetSecretValueCommand({ SecretId: SECRET })),
        expect: { name: "InternalServiceError", status: 500 },
    },
];

/** Stores an object through the stand-in's own state, as an earlier writer would have. */
async function putDirect(stand: Stand, path: string, body: string): Promise<void> {
    const res = await fetch(`${stand.s3.endpoint}/${path}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body,
    });
    assert.equal(res.status, 200);
}

describe("AWS stand-ins answer like the AWS API reference", function () {
    this.timeout(20_000);
    let stand: Stand;
    let clients: Clients;

    before(async () => {
        const [aws, s3, secrets] = await Promise.all([
            startAwsApiServer(),
            startS3Server(),
            startSecretsManager({ [SECRET]: "sb-key" }),
        ]);
        stand = { aws, s3, secrets };
        const common = {
            region: "us-east-1",
            maxAttempts: 1,
            credentials: { accessKeyId: "test", secretAccessKey: "test" },
        };
        clients = {
            batch: new BatchClient({ ...common, endpoint: aws.endpoint }),
            ec2: new EC2Client({ ...common, endpoint: aws.endpoint }),
            sns: new SNSClient({ ...common, endpoint: aws.endpoint }),
            s3: new S3Client({ ...common, endpoint: s3.endpoint, forcePathStyle: true }),
            secrets: new SecretsManagerClient({ ...common, endpoint: secrets.endpoint }),
        };
    });
    after(async () => {
        await Promise.all([stand.aws.close(), stand.s3.close(), stand.secrets.close()]);
    });

    for (const row of ROWS) {
        it(`${row.operation}: ${row.answer} — ${row.source}`, async () => {
            await row.arrange?.(stand);
            const expected = row.expect;
            if (typeof expected === "function") {
                await expected(await row.call(clients));
                return;
            }
            await assert.rejects(row.call(clients), (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
                assert.deepEqual({ name: e.name, status: e.$metadata?.httpStatusCode }, expected);
                return true;
            });
        });
    }

    it("covers every operation the stand-ins serve with a success row and an error row", () => {
        const operations = [
            "batch.SubmitJob",
            "batch.TerminateJob",
            "batch.DescribeComputeEnvironments",
            "batch.UpdateComputeEnvironment",
            "batch.TagResource",
            "batch.UntagResource",
            "ec2.DescribeSpotPriceHistory",
            "sns.Publish",
            "s3.PutObject",
            "s3.GetObject",
            "s3.DeleteObject",
            "secretsmanager.GetSecretValue",
        ];
        for (const op of operations) {
            const answers = ROWS.filter((r) => r.operation === op).map((r) => r.answer);
            assert.ok(
                answers.some((a) => a.startsWith("success")),
                `${op} has no success row`,
            );
            assert.ok(
                answers.some((a) => a !== "success"),
                `${op} has no error row`,
            );
        }
    });

    it("accepts presigned PUT and GET URLs (the dispatcher's upload route and the runner's https config)", async () => {
        const put = await getSignedUrl(
            clients.s3,
            new PutObjectCommand({ Bucket: "cfg", Key: "client-config/signed.json", ContentType: "application/json" }),
            { expiresIn: 60 },
        );
        const putRes = await fetch(put, { method: "PUT", body: "{}", headers: { "content-type": "application/json" } });
        assert.equal(putRes.status, 200);
        const get = await getSignedUrl(
            clients.s3,
            new GetObjectCommand({ Bucket: "cfg", Key: "client-config/signed.json" }),
            {
                expiresIn: 60,
            },
        );
        assert.equal(await (await fetch(get)).text(), "{}");
    });
});
