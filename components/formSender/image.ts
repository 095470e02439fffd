/**
 * The runner image: an immutable, scanned ECR repository and the image built from
 * containers/runner/Dockerfile with the repository root as context. Kept apart because it is the
 * only part that builds something locally.
 */
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import * as pulumi from "@pulumi/pulumi";
import type { PartContext } from "./context";

const REPO_ROOT = path.join(__dirname, "..", "..");
const RUNNER_DOCKERFILE = path.join(REPO_ROOT, "containers", "runner", "Dockerfile");

export type ImageInput = PartContext;

export interface RunnerImage {
    readonly repository: aws.ecr.Repository;
    readonly image: awsx.ecr.Image;
}

export function buildImage(input: ImageInput): RunnerImage {
    const { name, prefix, env, parent } = input;
    const repository = new aws.ecr.Repository(
        `${name}-runner`,
        {
            name: `${prefix}-runner`,
            imageTagMutability: "IMMUTABLE",
            imageScanningConfiguration: { scanOnPush: true },
            encryptionConfigurations: [{ encryptionType: "AES256" }],
            forceDelete: env !== "prd",
        },
        { parent, protect: input.protectStateful },
    );
    new aws.ecr.LifecyclePolicy(
        `${name}-runner`,
        {
            repository: repository.name,
            policy: pulumi.jsonStringify({
                rules: [
                    {
                        rulePriority: 1,
                        description: "Expire untagged images after 7 days",
                        selection: {
                            tagStatus: "untagged",
                            countType: "sinceImagePushed",
                            countUnit: "days",
                            countNumber: 7,
                        },
                        action: { type: "expire" },
                    },
                ],
            }),
        },
        { parent },
    );
    const image = new awsx.ecr.Image(
        `${name}-runner-image`,
        {
            repositoryUrl: repository.repositoryUrl,
            context: REPO_ROOT,
            dockerfile: RUNNER_DOCKERFILE,
            platform: "linux/amd64",
        },
        { parent },
    );
    return { repository, image };
}
