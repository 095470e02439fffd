/**
 * The weather task's API keys: every key the configuration knows is injected from the one JSON secret, and no other.
 */
import { strict as assert } from "assert";
import { WEATHER_API_KEY_NAMES } from "../../components/config";
import { json, planFor } from "../harness";

interface ContainerDefinition {
    secrets: { name: string; valueFrom: string }[];
}

describe("weather API keys", function () {
    this.timeout(120000);

    // Amazon ECS, "Pass Secrets Manager secrets through Amazon ECS environment variables"
    // (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html): valueFrom
    // `arn:aws:secretsmanager:<region>:<account>:secret:<name>:<json-key>:<version-stage>:<version-id>`; a JSON key the
    // secret lacks fails the task start (ResourceInitializationError), so the task may reference only keys the
    // config's weatherApiKeys check knows.
    for (const stack of ["stg", "prd"]) {
        it(`${stack}: references exactly the config's API keys, each as <secret ARN>:<KEY>::`, async () => {
            const plan = await planFor(stack);
            const [c] = json<ContainerDefinition[]>(
                plan.inputs<{ containerDefinitions: string }>("aws:ecs/taskDefinition:TaskDefinition", "weather-task")
                    .containerDefinitions,
            );
            const secretArn = `arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:weather/${stack}/api-keys-AbCdEf`;
            assert.deepEqual(
                c.secrets,
                WEATHER_API_KEY_NAMES.map((key) => ({ name: key, valueFrom: `${secretArn}:${key}::` })),
            );
            assert.deepEqual([...WEATHER_API_KEY_NAMES].sort(), [
                "ANTHROPIC_API_KEY",
                "GEMINI_API_KEY",
                "OPENAI_API_KEY",
                "WXTECH_API_KEY",
            ]);
        });
    }
});
