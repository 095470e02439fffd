/**
 * The runner image: an immutable, scanned ECR repository and the image built from
 * containers/runner/Dockerfile with the repository root as context. Kept apart because it is the
 * only part that builds something locally.
 */
import * as fs from "fs";
import * as path from "path";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import { contentTag, dockerfileContextSources, EXPIRE_UNTAGGED_IMAGES_POLICY } from "../imageTag";
import type { PartContext } from "./context";

const REPO_ROOT = path.join(__dirname, "..", "..");
const RUNNER_DOCKERFILE = path.join(REPO_ROOT, "containers", "runner", "Dockerfile");
/** The runner is built for the x86_64 instance types its compute environments use. */
export const RUNNER_PLATFORM = "linux/amd64";

/**
 * The runner image's tag: a hash of the files its Dockerfile copies from the context, the Dockerfile and the
 * platform. Without `imageTag` awsx tags `<sha1(context, dockerfile, args, stack)>-container`
 * (pulumi/pulumi-awsx awsx/ecr/image.ts `createUniqueImageName`), the same tag for new content, which the IMMUTABLE
 * repository refuses to overwrite; this tag changes exactly when the image's inputs do.
 */
export function runnerImageTag(): string {
    const dockerfile = fs.readFileSync(RUNNER_DOCKERFILE, "utf8");
    return contentTag({
        root: REPO_ROOT,
        paths: dockerfileContextSources(dockerfile),
        extra: { dockerfile, platform: RUNNER_PLATFORM },
    });
}

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
            policy: EXPIRE_UNTAGGED_IMAGES_POLICY,
        },
        { parent },
    );
    const image = new awsx.ecr.Image(
        `${name}-runner-image`,
        {
            repositoryUrl: repository.repositoryUrl,
            context: REPO_ROOT,
            dockerfile: RUNNER_DOCKERFILE,
            platform: RUNNER_PLATFORM,
            imageTag: runnerImageTag(),
        },
        { parent },
    );
    return { repository, image };
}
