import { strict as assert } from "assert";
import { exitCodeOf } from "../../scripts/lib/preflight";
import { DB_PASSWORD, DB_SECRET_ARN, RDS_VPC, SYNC_SUBNETS, WEATHER_REGION, YT_KEY } from "./fixtures";
import { preflight } from "./harness";

/** Each failing condition of the account or the machine turns exactly its check into FAIL (or WARN), with a fix. */
describe("npm run preflight reports each failing condition", function () {
    this.timeout(180_000);

    describe("quotas follow the stack's plan", () => {
        it("fails when the Spot vCPU quota is below the Spot compute environment's maxvCpus, naming the fix", async () => {
            const run = await preflight({
                account: (a) => (a.regions["us-east-1"].appliedQuotas["ec2/L-34B43A08"] = 8),
            });
            const c = run.check("quota.ec2-spot-vcpus");
            assert.equal(c.status, "FAIL");
            assert.equal(c.needed, "≥ 16 vCPUs");
            assert.match(c.message, /\(L-34B43A08\) is 8 vCPUs \(applied\)/);
            assert.equal(
                c.fix,
                "aws service-quotas request-service-quota-increase --service-code ec2 --quota-code L-34B43A08 " +
                    "--desired-value 16 --region us-east-1",
            );
            assert.equal(exitCodeOf(run.report), 1);
        });

        it("the required vCPUs change with formSenderMaxVcpus / formSenderOnDemandMaxVcpus in the stack config", async () => {
            const run = await preflight({ config: { formSenderMaxVcpus: "96", formSenderOnDemandMaxVcpus: "48" } });
            assert.equal(run.check("quota.ec2-spot-vcpus").status, "FAIL");
            assert.equal(run.check("quota.ec2-spot-vcpus").needed, "≥ 96 vCPUs");
            assert.equal(run.check("quota.ec2-ondemand-vcpus").status, "PASS");
            assert.equal(run.check("quota.ec2-ondemand-vcpus").needed, "≥ 48 vCPUs");
        });

        it("fails the On-Demand vCPU quota below the On-Demand compute environment", async () => {
            const run = await preflight({
                account: (a) => (a.regions["us-east-1"].appliedQuotas["ec2/L-1216C47A"] = 4),
            });
            const c = run.check("quota.ec2-ondemand-vcpus");
            assert.equal(c.status, "FAIL");
            assert.equal(c.needed, "≥ 8 vCPUs");
        });

        it("Fargate: fails below max tasks × vCPU, warns below the deployment peak, and follows weatherMaxTasks", async () => {
            const low = await preflight({
                account: (a) => (a.regions[WEATHER_REGION].appliedQuotas["fargate/L-3032A538"] = 1),
            });
            assert.equal(low.check("quota.fargate-vcpus").status, "FAIL");
            assert.match(low.check("quota.fargate-vcpus").message, /maximum task count needs 2/);
            const peak = await preflight({
                account: (a) => (a.regions[WEATHER_REGION].appliedQuotas["fargate/L-3032A538"] = 3),
            });
            assert.equal(peak.check("quota.fargate-vcpus").status, "WARN");
            assert.equal(peak.check("quota.fargate-vcpus").needed, "≥ 4 vCPUs");
            const more = await preflight({ config: { weatherMaxTasks: "10" } });
            assert.equal(more.check("quota.fargate-vcpus").status, "WARN");
            assert.equal(more.check("quota.fargate-vcpus").needed, "≥ 20 vCPUs");
        });

        it("Elastic IPs: counts addresses outside the stack, one per planned NAT gateway (perAz follows the AZs)", async () => {
            const full = await preflight({
                account: (a) =>
                    a.regions[WEATHER_REGION].addresses.push(
                        ...[1, 2, 3, 4].map((i) => ({
                            allocationId: `eipalloc-0other${i}`,
                            publicIp: `203.0.113.${20 + i}`,
                        })),
                    ),
            });
            assert.equal(full.check("quota.elastic-ips").status, "FAIL");
            assert.equal(full.check("quota.elastic-ips").needed, "≥ 6");
            const perAz = await preflight({ config: { weatherNatGateways: "perAz" } });
            assert.equal(perAz.check("quota.elastic-ips").needed, "≥ 3");
            // The stack's own NAT address (already deployed, found by its Name tag) is not counted twice.
            const redeploy = await preflight({
                account: (a) =>
                    a.regions[WEATHER_REGION].addresses.push(
                        {
                            allocationId: "eipalloc-0stack",
                            publicIp: "203.0.113.30",
                            name: "weather-stg-nat-ap-northeast-1a",
                        },
                        ...[1, 2, 3].map((i) => ({
                            allocationId: `eipalloc-0other${i}`,
                            publicIp: `203.0.113.${20 + i}`,
                        })),
                    ),
            });
            assert.equal(redeploy.check("quota.elastic-ips").needed, "≥ 5");
            assert.equal(redeploy.check("quota.elastic-ips").status, "PASS");
        });

        it("Elastic IPs fall back to EC2 vpc-max-elastic-ips when Service Quotas is denied", async () => {
            const run = await preflight({
                account: (a) => {
                    a.denied.push("servicequotas:GetServiceQuota");
                    a.regions[WEATHER_REGION].accountAttributes["vpc-max-elastic-ips"] = "1";
                },
            });
            const c = run.check("quota.elastic-ips");
            assert.equal(c.status, "FAIL");
            assert.match(c.message, /quota is 1 \(vpc-max-elastic-ips\)/);
            assert.ok(run.account.calls.includes(`ec2:DescribeAccountAttributes@${WEATHER_REGION}`));
        });

        it("VPCs per Region: fails when the existing VPCs leave no room for the stack's", async () => {
            const run = await preflight({
                account: (a) =>
                    a.regions["us-east-1"].vpcs.push(...[1, 2, 3, 4].map((i) => ({ vpcId: `vpc-0other${i}` }))),
            });
            assert.equal(run.check("quota.vpcs", "us-east-1").status, "FAIL");
            assert.equal(run.check("quota.vpcs", "us-east-1").needed, "≥ 6");
            assert.equal(run.check("quota.vpcs", WEATHER_REGION).status, "PASS");
        });

        it("Lambda: a new account's 10 concurrent executions fail; the reservation in the config raises the need", async () => {
            const fresh = await preflight({
                account: (a) => (a.regions["us-east-1"].appliedQuotas["lambda/L-B99A9384"] = 10),
            });
            assert.equal(fresh.check("quota.lambda-concurrency", "us-east-1").status, "FAIL");
            assert.equal(fresh.check("quota.lambda-concurrency", "us-east-1").needed, "≥ 100");
            const reserved = await preflight({ config: { formSenderDispatcherReservedConcurrency: "950" } });
            assert.equal(reserved.check("quota.lambda-concurrency", "us-east-1").status, "FAIL");
            assert.equal(reserved.check("quota.lambda-concurrency", "us-east-1").needed, "≥ 1050");
            const taken = await preflight({
                config: { formSenderDispatcherReservedConcurrency: "20" },
                account: (a) => (a.regions["us-east-1"].lambda.unreservedConcurrentExecutions = 110),
            });
            assert.equal(taken.check("quota.lambda-concurrency", "us-east-1").status, "WARN");
        });

        it("Lambda falls back to GetAccountSettings when Service Quotas is denied", async () => {
            const run = await preflight({
                account: (a) => {
                    a.denied.push("servicequotas:GetServiceQuota");
                    a.regions["us-east-1"].lambda = { concurrentExecutions: 50, unreservedConcurrentExecutions: 50 };
                },
            });
            const c = run.check("quota.lambda-concurrency", "us-east-1");
            assert.equal(c.status, "FAIL");
            assert.match(c.message, /is 50 \(lambda GetAccountSettings\)/);
        });
    });

    describe("missing permissions are never PASS", () => {
        it("reports 'could not check (missing permission …)' for a denied Service Quotas or IAM call", async () => {
            const run = await preflight({
                account: (a) =>
                    a.denied.push("servicequotas:GetServiceQuota", "iam:GetRole", "ec2:DescribeRouteTables"),
            });
            for (const id of [
                "quota.ec2-spot-vcpus",
                "quota.fargate-vcpus",
                "quota.vpcs",
                "iam.service-linked-role.AWSServiceRoleForEC2Spot",
                "network.sync.internet",
            ]) {
                const c = run.report.checks.find((x) => x.id === id)!;
                assert.equal(c.status, "WARN", id);
                assert.match(c.message, /^could not check .* \(missing permission [a-z0-9]+:[A-Za-z]+/, id);
            }
        });
    });

    describe("service-linked roles and the API Gateway account", () => {
        it("fails a missing EC2 Spot role and warns a missing ECS role, each with create-service-linked-role", async () => {
            const run = await preflight({
                account: (a) =>
                    (a.roles = a.roles.filter((r) => r !== "AWSServiceRoleForEC2Spot" && r !== "AWSServiceRoleForECS")),
            });
            const spot = run.check("iam.service-linked-role.AWSServiceRoleForEC2Spot");
            assert.equal(spot.status, "FAIL");
            assert.equal(spot.fix, "aws iam create-service-linked-role --aws-service-name spot.amazonaws.com");
            const ecs = run.check("iam.service-linked-role.AWSServiceRoleForECS");
            assert.equal(ecs.status, "WARN");
            assert.equal(ecs.fix, "aws iam create-service-linked-role --aws-service-name ecs.amazonaws.com");
        });

        it("fails when the API Gateway account has no CloudWatch role and this stack does not manage it", async () => {
            const run = await preflight({ account: (a) => delete a.regions["us-east-1"].apiGatewayCloudwatchRoleArn });
            const c = run.check("apigateway.cloudwatch-role");
            assert.equal(c.status, "FAIL");
            assert.match(c.fix ?? "", /pulumi config set formSenderManageApiGatewayAccount true --stack stg/);
        });

        it("fails when the account's CloudWatch role no longer exists", async () => {
            const run = await preflight({
                account: (a) => (a.roles = a.roles.filter((r) => r !== "apigw-cloudwatch")),
            });
            assert.equal(run.check("apigateway.cloudwatch-role").status, "FAIL");
        });

        it("skips the API Gateway account when the stack manages it", async () => {
            const run = await preflight({
                config: { formSenderManageApiGatewayAccount: "true" },
                account: (a) => delete a.regions["us-east-1"].apiGatewayCloudwatchRoleArn,
            });
            assert.equal(run.report.checks.filter((c) => c.id === "apigateway.cloudwatch-role").length, 0);
            assert.ok(!run.account.calls.some((c) => c.startsWith("apigateway:")));
        });
    });

    describe("certificate, secrets and the sync network", () => {
        it("fails a certificate that is not ISSUED, and one that does not exist", async () => {
            const pending = await preflight({
                account: (a) => Object.values(a.certificates).forEach((c) => (c.status = "PENDING_VALIDATION")),
            });
            assert.equal(pending.check("acm.certificate").status, "FAIL");
            assert.match(pending.check("acm.certificate").fix ?? "", /DomainValidationOptions/);
            const missing = await preflight({ account: (a) => (a.certificates = {}) });
            assert.equal(missing.check("acm.certificate").status, "FAIL");
            assert.match(
                missing.check("acm.certificate").message,
                /does not exist in this account \(ResourceNotFoundException\)/,
            );
        });

        it("fails a missing secret and one scheduled for deletion", async () => {
            const run = await preflight({
                account: (a) => {
                    delete a.secrets[DB_SECRET_ARN];
                    Object.values(a.secrets).forEach((s) => (s.deletedDate = new Date("2026-11-20T00:00:00Z")));
                },
            });
            assert.equal(run.check("secret.syncDbPasswordSecretArn").status, "FAIL");
            assert.equal(run.check("secret.syncYoutubeApiKeySecretArn").status, "FAIL");
            assert.match(run.check("secret.syncYoutubeApiKeySecretArn").fix ?? "", /restore-secret/);
        });

        it("reads secret values only with --check-secret-keys, and prints key names, never values", async () => {
            const plain = await preflight();
            assert.ok(!plain.account.calls.some((c) => c.startsWith("secretsmanager:GetSecretValue")));
            const ok = await preflight({ checkSecretKeys: true });
            assert.equal(ok.check("secret.syncDbPasswordSecretArn.keys").status, "PASS");
            assert.match(ok.check("secret.syncDbPasswordSecretArn.keys").message, /JSON with password/);
            const bad = await preflight({
                checkSecretKeys: true,
                account: (a) =>
                    (a.secrets[DB_SECRET_ARN].value = JSON.stringify({ username: "postgres", pass: DB_PASSWORD })),
            });
            const c = bad.check("secret.syncDbPasswordSecretArn.keys");
            assert.equal(c.status, "FAIL");
            assert.match(c.message, /without a non-empty "password" field \(it has: username, pass\)/);
            for (const run of [ok, bad]) {
                const text = JSON.stringify(run.report);
                assert.ok(!text.includes(DB_PASSWORD) && !text.includes(YT_KEY), "a secret value reached the report");
            }
        });

        it("fails subnets that do not exist, and a security group in another VPC", async () => {
            const gone = await preflight({
                account: (a) => (a.regions[WEATHER_REGION].subnets = a.regions[WEATHER_REGION].subnets.slice(1)),
            });
            assert.equal(gone.check("network.sync").status, "FAIL");
            assert.match(
                gone.check("network.sync").message,
                new RegExp(`${SYNC_SUBNETS[0]}.*InvalidSubnetID.NotFound`),
            );
            const split = await preflight({
                account: (a) => (a.regions[WEATHER_REGION].securityGroups[0].vpcId = "vpc-0elsewhere0000001"),
            });
            assert.equal(split.check("network.sync").status, "FAIL");
            assert.match(split.check("network.sync").message, /in 2 VPCs/);
        });

        it("fails subnets whose default route is an internet gateway or missing: the sync cannot reach YouTube", async () => {
            // Without its explicit association the subnet falls back to the VPC's main table (an IGW route).
            const igw = await preflight({
                account: (a) => (a.regions[WEATHER_REGION].routeTables[0].subnetIds = [SYNC_SUBNETS[1]]),
            });
            const c = igw.check("network.sync.internet");
            assert.equal(c.status, "FAIL");
            assert.match(c.message, new RegExp(`${SYNC_SUBNETS[0]} routes 0.0.0.0/0 to igw-`));
            const none = await preflight({
                account: (a) =>
                    (a.regions[WEATHER_REGION].routeTables[0].routes = [
                        { destination: "10.0.0.0/16", gatewayId: "local" },
                    ]),
            });
            assert.equal(none.check("network.sync.internet").status, "FAIL");
            assert.match(none.check("network.sync.internet").message, /has no default route/);
            assert.equal(none.check("network.sync").message.includes(RDS_VPC), true);
        });
    });

    describe("identity, credentials and endpoints", () => {
        it("fails the committed stack file's REPLACE-ME ARNs (account 000000000000)", async () => {
            const run = await preflight({
                asCommitted: true,
                config: { weatherImageUri: "111122223333.dkr.ecr.ap-northeast-1.amazonaws.com/w:1" },
            });
            const c = run.check("identity.weatherCertificateArn");
            assert.equal(c.status, "FAIL");
            assert.match(c.message, /still the REPLACE-ME placeholder/);
        });

        it("fails credentials of an account the stack file does not allow (aws:allowedAccountIds)", async () => {
            const other = await preflight({ config: { "aws:allowedAccountIds": '["999988887777"]' } });
            assert.equal(other.check("identity").status, "FAIL");
            assert.match(other.check("identity").message, /allows only 999988887777/);
            const same = await preflight({ config: { "aws:allowedAccountIds": '["111122223333"]' } });
            assert.equal(same.check("identity").status, "PASS");
        });

        it("fails with how to provide credentials when the access key is unknown, and skips the account checks", async () => {
            const run = await preflight({ accessKeyId: "AKIAUNKNOWNKEY000000" });
            const c = run.check("identity");
            assert.equal(c.status, "FAIL");
            assert.match(c.message, /InvalidClientTokenId/);
            assert.match(c.fix ?? "", /aws sso login --profile/);
            assert.equal(run.check("account").status, "SKIP");
            assert.deepEqual(run.account.calls, ["sts:GetCallerIdentity@us-east-1"]);
        });

        it("fails with how to provide credentials when there are none", async () => {
            const run = await preflight({ noCredentials: true });
            assert.equal(run.check("identity").status, "FAIL");
            assert.match(run.check("identity").message, /^no AWS credentials/);
            assert.deepEqual(run.account.calls, []);
        });

        it("fails when the AWS endpoint does not answer", async () => {
            const run = await preflight({ endpoint: "http://127.0.0.1:9" });
            assert.equal(run.check("identity").status, "FAIL");
            assert.match(run.check("identity").message, /did not answer|ECONNREFUSED/);
        });
    });

    describe("local tooling", () => {
        it("fails a Pulumi CLI other than .pulumi-version and a missing one, with the install command", async () => {
            const old = await preflight({ tools: { pulumi: "v3.100.0" } });
            assert.equal(old.check("tool.pulumi").status, "FAIL");
            assert.match(old.check("tool.pulumi").fix ?? "", /get\.pulumi\.com \| sh -s -- --version 3\.\d+\.\d+/);
            const none = await preflight({ tools: { pulumi: null } });
            assert.match(none.check("tool.pulumi").message, /not installed/);
        });

        it("fails Node older than @pulumi/pulumi requires", async () => {
            const run = await preflight({ tools: { node: "v20.20.2" } });
            assert.equal(run.check("tool.node").status, "FAIL");
        });

        it("fails a Docker daemon that does not answer, a missing buildx, and a builder without linux/amd64", async () => {
            const down = await preflight({ tools: { dockerInfo: "" } });
            assert.equal(down.check("tool.docker").status, "FAIL");
            assert.match(down.check("tool.docker").message, /Cannot connect to the Docker daemon/);
            const nobuildx = await preflight({ tools: { buildx: false } });
            assert.equal(nobuildx.check("tool.docker-buildx").status, "FAIL");
            const arm = await preflight({ tools: { platforms: "linux/arm64, linux/arm/v7" } });
            assert.equal(arm.check("tool.docker-amd64").status, "FAIL");
            assert.match(arm.check("tool.docker-amd64").fix ?? "", /binfmt --install amd64/);
        });
    });
});
