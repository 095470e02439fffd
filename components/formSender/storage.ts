/**
 * The client-config bucket: the dispatcher uploads each run's client config here and the runner
 * reads it. Private, encrypted, TLS-only, and with lifecycle rules that bound what batch-events
 * leaves behind when it cannot delete a config.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { FormSenderConfig } from "../config/formSender";
import { policyDocument } from "../iam";
import type { PartContext } from "./context";

export interface StorageInput extends PartContext, Pick<FormSenderConfig, "configRetentionDays"> {}

export interface Storage {
    readonly bucket: aws.s3.Bucket;
}

export function buildStorage(input: StorageInput): Storage {
    const { name, prefix, env, parent } = input;
    const bucket = new aws.s3.Bucket(
        `${name}-configs`,
        { bucketPrefix: `${prefix}-client-config-`, forceDestroy: env !== "prd" },
        { parent, protect: input.protectStateful },
    );
    new aws.s3.BucketPublicAccessBlock(
        `${name}-configs`,
        {
            bucket: bucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        },
        { parent },
    );
    new aws.s3.BucketOwnershipControls(
        `${name}-configs`,
        { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } },
        { parent },
    );
    new aws.s3.BucketServerSideEncryptionConfiguration(
        `${name}-configs`,
        {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }],
        },
        { parent },
    );
    new aws.s3.BucketPolicy(
        `${name}-configs`,
        {
            bucket: bucket.id,
            policy: policyDocument([
                {
                    Sid: "DenyInsecureTransport",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:*",
                    Resource: [bucket.arn, pulumi.interpolate`${bucket.arn}/*`],
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                },
            ]),
        },
        { parent },
    );
    new aws.s3.BucketLifecycleConfiguration(
        `${name}-configs`,
        {
            bucket: bucket.id,
            rules: [
                // batch-events deletes a config after success; these rules bound what is left behind.
                {
                    id: "expire-client-configs",
                    status: "Enabled",
                    filter: { prefix: "client-config/" },
                    expiration: { days: input.configRetentionDays },
                },
                { id: "backstop-30-days", status: "Enabled", filter: { prefix: "" }, expiration: { days: 30 } },
                {
                    id: "abort-incomplete-uploads",
                    status: "Enabled",
                    filter: { prefix: "" },
                    abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
                },
            ],
        },
        { parent },
    );
    return { bucket };
}
