/**
 * The form-sender REST API against rules the mock engine does not enforce: API Gateway's account-level CloudWatch
 * role, the execution-log group API Gateway would otherwise create without expiry, and redeployment on any change.
 */
import { strict as assert } from "assert";
import { parseStackConfig } from "../../components/config";
import { deploymentTrigger, EXECUTION_LOG_RETENTION_DAYS } from "../../components/formSender/api";
import { Plan, planFor } from "../harness";
import { MINIMAL_CONFIG } from "../support/minimalConfig";

const T = {
    role: "aws:iam/role:Role",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    account: "aws:apigateway/account:Account",
    stage: "aws:apigateway/stage:Stage",
    settings: "aws:apigateway/methodSettings:MethodSettings",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    deployment: "aws:apigateway/deployment:Deployment",
};
const DEPLOYED_TYPES = [
    "aws:apigateway/resource:Resource",
    "aws:apigateway/method:Method",
    "aws:apigateway/integration:Integration",
];

/** URNs `urn` depends on: dependsOn and the resources its inputs come from. */
function dependenciesOf(plan: Plan, urn: string): string[] {
    return plan.run.dependencies?.[urn] ?? [];
}

describe("form-sender API", function () {
    this.timeout(120000);

    // API Gateway, "Set up CloudWatch logging for REST APIs"
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html): "create an IAM role with
    // apigateway.amazonaws.com as its trusted entity, attach [AmazonAPIGatewayPushToCloudWatchLogs], and set the IAM
    // role ARN on the cloudWatchRoleArn property on your Account. You must set the cloudWatchRoleArn property
    // separately for every AWS Region"; without it a stage or method settings that log fail with "CloudWatch Logs
    // role ARN must be set in account settings to enable logging".
    it("prd sets the region's API Gateway CloudWatch role before the stage and method settings", async () => {
        const plan = await planFor("prd");
        const role = plan.get(T.role, "form-sender-apigw-cloudwatch");
        const trust = JSON.parse(plan.inputs<{ assumeRolePolicy: string }>(T.role, role.name).assumeRolePolicy) as {
            Statement: { Effect: string; Principal: { Service: string }; Action: string }[];
        };
        assert.deepEqual(trust.Statement, [
            { Effect: "Allow", Principal: { Service: "apigateway.amazonaws.com" }, Action: "sts:AssumeRole" },
        ]);
        const attachment = plan.get(T.attachment, "form-sender-apigw-cloudwatch");
        assert.equal(
            plan.inputs<{ policyArn: string }>(T.attachment, attachment.name).policyArn,
            "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
        );
        const account = plan.get(T.account, "form-sender-apigw-account");
        assert.equal(
            plan.inputs<{ cloudwatchRoleArn: string }>(T.account, account.name).cloudwatchRoleArn,
            `arn:aws:iam::123456789012:role/form-sender-apigw-cloudwatch`,
        );
        // The account setting is made in the form sender's region, with the policy already attached.
        assert.ok(
            plan
                .inRegion("us-east-1")
                .map((r) => r.urn)
                .includes(account.urn),
        );
        assert.ok(dependenciesOf(plan, account.urn).includes(attachment.urn));
        for (const type of [T.stage, T.settings]) {
            const r = plan.get(type, "form-sender-api");
            assert.ok(dependenciesOf(plan, r.urn).includes(account.urn), `${type} waits for the account setting`);
        }
    });

    it("stg relies on the account setting prd makes: no Account, no CloudWatch role of its own", async () => {
        const plan = await planFor("stg");
        assert.deepEqual(plan.ofType(T.account), []);
        assert.ok(!plan.ofType(T.role).some((r) => r.name === "form-sender-apigw-cloudwatch"));
        assert.ok(!plan.ofType(T.attachment).some((r) => r.name === "form-sender-apigw-cloudwatch"));
    });

    // "When you enable execution logging on a stage, API Gateway automatically creates and manages a CloudWatch Logs
    // log group. The log group is named API-Gateway-Execution-Logs_{rest-api-id}/{stage_name}"
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-execution-logging.html), with no
    // retention: created first by the stack, it gets one.
    for (const stack of ["stg", "prd"]) {
        it(`${stack}: creates the execution-log group with a retention before the stage and method settings`, async () => {
            const plan = await planFor(stack);
            const group = plan.get(T.logGroup, "form-sender-api-execution");
            assert.deepEqual(plan.inputs<{ name: string; retentionInDays: number }>(T.logGroup, group.name), {
                name: `API-Gateway-Execution-Logs_a1b2c3d4e5/${stack}`,
                retentionInDays: EXECUTION_LOG_RETENTION_DAYS,
            });
            for (const type of [T.stage, T.settings]) {
                const r = plan.get(type, "form-sender-api");
                assert.ok(dependenciesOf(plan, r.urn).includes(group.urn), `${type} waits for the log group`);
            }
            const settings = plan.inputs<{ stageName: string; settings: { loggingLevel: string } }>(
                T.settings,
                "form-sender-api",
            );
            assert.deepEqual([settings.stageName, settings.settings.loggingLevel], [stack, "ERROR"]);
        });
    }

    it("lets exactly the stacks that say so manage the account setting (default: none)", () => {
        assert.equal(parseStackConfig("stg", MINIMAL_CONFIG).formSender.manageApiGatewayAccount, false);
        assert.equal(
            parseStackConfig("stg", { ...MINIMAL_CONFIG, formSenderManageApiGatewayAccount: "true" }).formSender
                .manageApiGatewayAccount,
            true,
        );
    });

    // @pulumi/aws apigateway.Deployment: "The `triggers` argument should be preferred over `dependsOn`, since
    // `dependsOn` can only capture dependency ordering and will not cause the resource to recreate (redeploy the REST
    // API) with upstream configuration changes"; `triggers` is a "Map of arbitrary keys and values that, when
    // changed, will trigger a redeployment".
    for (const stack of ["stg", "prd"]) {
        it(`${stack}: redeploys when any resource, method or integration input changes`, async () => {
            const plan = await planFor(stack);
            const deployed: Record<string, unknown> = {};
            for (const r of plan.resources.filter((x) => DEPLOYED_TYPES.includes(x.type)))
                deployed[`${r.type.split(":").pop()} ${r.name}`] = r.inputs;
            // 6 path resources (form-sender, submit, client-config-upload, executions, {id}, cancel), 5 methods, 5
            // integrations (GET executions/{id} joined the four routes for the operators' `show`).
            assert.equal(Object.keys(deployed).length, 6 + 5 + 5);
            const triggers = plan.inputs<{ triggers: Record<string, string> }>(
                T.deployment,
                "form-sender-api",
            ).triggers;
            assert.deepEqual(triggers, { redeployment: deploymentTrigger(deployed) });

            const integration = "Integration form-sender-api-post-form-sender-submit";
            const changed = (patch: Record<string, unknown>) =>
                deploymentTrigger({
                    ...deployed,
                    [integration]: { ...(deployed[integration] as Record<string, unknown>), ...patch },
                });
            assert.notEqual(changed({ timeoutMilliseconds: 10000 }), triggers.redeployment);
            assert.notEqual(changed({ type: "AWS" }), triggers.redeployment);
            const method = "Method form-sender-api-get-form-sender-executions";
            assert.notEqual(
                deploymentTrigger({
                    ...deployed,
                    [method]: { ...(deployed[method] as Record<string, unknown>), authorization: "NONE" },
                }),
                triggers.redeployment,
            );
            // Key order is not a change.
            const reversed = Object.fromEntries(Object.entries(deployed).reverse());
            assert.equal(deploymentTrigger(reversed), triggers.redeployment);
        });
    }
});
