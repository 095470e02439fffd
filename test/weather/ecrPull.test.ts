/**
 * Image pulls of the weather task: the execution role may pull from the private ECR repository the image comes from,
 * whether the stack built it or `weatherImageUri` names it, and has no ECR permission for images from elsewhere.
 */
import { strict as assert } from "assert";
import { ecrRepositoryOfImage } from "../../components/weatherService";
import { json, planFor } from "../harness";

interface Statement {
    Sid: string;
    Effect: string;
    Action: string[];
    Resource: string;
}

const DIGEST = "a".repeat(64);

describe("weather image pulls", function () {
    this.timeout(120000);

    it("reads the repository ARN from a private ECR image reference, by tag or by digest", () => {
        const cases: [string, ReturnType<typeof ecrRepositoryOfImage>][] = [
            [
                "210987654321.dkr.ecr.ap-northeast-1.amazonaws.com/weather/app:2.0.1",
                {
                    account: "210987654321",
                    region: "ap-northeast-1",
                    name: "weather/app",
                    arn: "arn:aws:ecr:ap-northeast-1:210987654321:repository/weather/app",
                },
            ],
            [
                `123456789012.dkr.ecr.us-east-1.amazonaws.com/weather-app@sha256:${DIGEST}`,
                {
                    account: "123456789012",
                    region: "us-east-1",
                    name: "weather-app",
                    arn: "arn:aws:ecr:us-east-1:123456789012:repository/weather-app",
                },
            ],
            [
                "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/weather-app:1",
                {
                    account: "123456789012",
                    region: "cn-north-1",
                    name: "weather-app",
                    arn: "arn:aws-cn:ecr:cn-north-1:123456789012:repository/weather-app",
                },
            ],
            ["public.ecr.aws/docker/library/python:3.11-slim", undefined],
            ["registry.example.com/weather/app:2.0.1", undefined],
            ["ghcr.io/example/weather:1.0", undefined],
        ];
        for (const [uri, expected] of cases) assert.deepEqual(ecrRepositoryOfImage(uri), expected, uri);
    });

    // Amazon ECR, "Using Amazon ECR images with Amazon ECS"
    // (https://docs.aws.amazon.com/AmazonECR/latest/userguide/ECR_on_ECS.html): on Fargate the task execution role
    // must allow ecr:BatchGetImage, ecr:GetDownloadUrlForLayer and ecr:GetAuthorizationToken. The Service
    // Authorization Reference for ECR lists no resource type for GetAuthorizationToken (so "*") and `repository` for
    // the pull actions.
    it("lets the execution role pull a prebuilt image from the private ECR repository weatherImageUri names", async () => {
        for (const uri of [
            "210987654321.dkr.ecr.ap-northeast-1.amazonaws.com/weather/app:2.0.1",
            `210987654321.dkr.ecr.ap-northeast-1.amazonaws.com/weather/app@sha256:${DIGEST}`,
        ]) {
            const plan = await planFor("stg", { config: { weatherImageUri: uri } });
            const exec = json<{ Statement: Statement[] }>(
                plan.inputs<{ policy: string }>("aws:iam/rolePolicy:RolePolicy", "weather-execution").policy,
            ).Statement;
            assert.deepEqual(
                exec.filter((s) => s.Sid.startsWith("Ecr")),
                [
                    { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
                    {
                        Sid: "EcrPull",
                        Effect: "Allow",
                        Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                        Resource: "arn:aws:ecr:ap-northeast-1:210987654321:repository/weather/app",
                    },
                ],
                uri,
            );
            const c = json<{ image: string }[]>(
                plan.inputs<{ containerDefinitions: string }>("aws:ecs/taskDefinition:TaskDefinition", "weather-task")
                    .containerDefinitions,
            )[0];
            assert.equal(c.image, uri);
        }
    });

    it("grants no ECR permission for a prebuilt image from another registry", async () => {
        const plan = await planFor("stg", { config: { weatherImageUri: "public.ecr.aws/example/weather:2.0.1" } });
        const exec = json<{ Statement: Statement[] }>(
            plan.inputs<{ policy: string }>("aws:iam/rolePolicy:RolePolicy", "weather-execution").policy,
        ).Statement;
        assert.deepEqual(
            exec.map((s) => s.Sid),
            ["Logs", "ApiKeys"],
        );
    });
});
