/**
 * Secrets Manager DescribeSecret and GetSecretValue over JSON 1.1 (X-Amz-Target `secretsmanager.<Operation>`),
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html and API_GetSecretValue.html:
 * - SecretId is "the ARN or name of the secret" (both pages); a name finds the secret of that name in the request's
 *   region;
 * - a secret of another region or none answers ResourceNotFoundException ("Secrets Manager can't find the specified
 *   secret.");
 * - a secret created without a value has no version: DescribeSecret answers without VersionIdsToStages, and
 *   GetSecretValue (which reads the AWSCURRENT version by default) answers ResourceNotFoundException "Secrets Manager
 *   can't find the specified secret value for staging label: AWSCURRENT" (https://github.com/boto/boto3/issues/2794,
 *   `create-secret --name empty` then get_secret_value; the message form in
 *   https://github.com/aws/aws-sdk-js-v3/issues/7701, which shows it for the AWSPENDING label);
 * - DeletedDate is an epoch-seconds timestamp.
 */
import { FakeAccount } from "./account";
import { json11, json11Error, member, ServiceHandler } from "./server";

/** The secret `id` (an ARN or a name) names in `region`, with its ARN. */
function findSecret(account: FakeAccount, id: string, region: string) {
    if (id.startsWith("arn:")) {
        const secret = account.secrets[id];
        return secret && id.split(":")[3] === region ? { arn: id, secret } : undefined;
    }
    for (const [arn, secret] of Object.entries(account.secrets)) {
        if (secret.name === id && arn.split(":")[3] === region) return { arn, secret };
    }
    return undefined;
}

export const handleSecretsManager: ServiceHandler = (req, account) => {
    if (!req.target.startsWith("secretsmanager.")) return undefined;
    const op = req.target.slice("secretsmanager.".length);
    account.calls.push(`secretsmanager:${op}@${req.region}`);
    if (account.denied.includes(`secretsmanager:${op}`)) {
        return json11Error(
            400,
            "AccessDeniedException",
            `User: ${account.callerArn} is not authorized to perform: secretsmanager:${op}`,
        );
    }
    const found = findSecret(account, member(req, "SecretId"), req.region);
    if (!found) {
        return json11Error(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    }
    const { arn, secret } = found;
    if (op === "DescribeSecret") {
        return json11(200, {
            ARN: arn,
            Name: secret.name,
            ...(secret.deletedDate ? { DeletedDate: secret.deletedDate.getTime() / 1000 } : {}),
            ...(secret.value !== undefined ? { VersionIdsToStages: { v1: ["AWSCURRENT"] } } : {}),
        });
    }
    if (op === "GetSecretValue") {
        if (secret.deletedDate) {
            return json11Error(
                400,
                "InvalidRequestException",
                "You can't perform this operation on the secret because it was marked for deletion.",
            );
        }
        if (secret.value === undefined) {
            return json11Error(
                400,
                "ResourceNotFoundException",
                "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
            );
        }
        return json11(200, {
            ARN: arn,
            Name: secret.name,
            SecretString: secret.value,
            VersionId: "v1",
            VersionStages: ["AWSCURRENT"],
        });
    }
    return json11Error(400, "InvalidRequestException", `unsupported operation ${op}`);
};
