/**
 * Secrets Manager DescribeSecret and GetSecretValue over JSON 1.1 (X-Amz-Target `secretsmanager.<Operation>`);
 * a secret of another region or none answers ResourceNotFoundException ("Secrets Manager can't find the specified
 * secret."), https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html and
 * API_GetSecretValue.html. DeletedDate is an epoch-seconds timestamp.
 */
import { json11, json11Error, member, ServiceHandler } from "./server";

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
    const id = member(req, "SecretId");
    const secret = account.secrets[id];
    if (!secret || id.split(":")[3] !== req.region) {
        return json11Error(400, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    }
    if (op === "DescribeSecret") {
        return json11(200, {
            ARN: id,
            Name: secret.name,
            ...(secret.deletedDate ? { DeletedDate: secret.deletedDate.getTime() / 1000 } : {}),
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
        return json11(200, {
            ARN: id,
            Name: secret.name,
            SecretString: secret.value,
            VersionId: "v1",
            VersionStages: ["AWSCURRENT"],
        });
    }
    return json11Error(400, "InvalidRequestException", `unsupported operation ${op}`);
};
