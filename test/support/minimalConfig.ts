/**
 * The smallest valid stg configuration (unqualified, raw strings as Pulumi passes them): the keys Pulumi.yaml
 * declares without default, the environment, and weatherAppPath (required without weatherImageUri; a path that need
 * not exist, since parseStackConfig checks values, not the machine). Config tests override single keys of it.
 */
export const MINIMAL_CONFIG: Readonly<Record<string, string>> = {
    environment: "stg",
    alertEmail: "ops@example.com",
    weatherCertificateArn: "arn:aws:acm:ap-northeast-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
    weatherAppPath: "../app",
    orchestrationBatchScriptPath: "src/batch/nightly.py",
    syncSubnetIds: '["subnet-0a1b2c3d4e5f60718"]',
    syncSecurityGroupIds: '["sg-0a1b2c3d4e5f60730"]',
    syncDbHost: "shirogane.abcdefghijkl.ap-northeast-1.rds.amazonaws.com",
    syncDbPasswordSecretArn:
        "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds-db-credentials/shirogane-AbCdEf",
    syncYoutubeApiKeySecretArn:
        "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:sync-batch/youtube-api-key-GhIjKl",
};
