/**
 * API Gateway GetAccount over REST-JSON: `GET /account`, answer `{ "cloudwatchRoleArn", "throttleSettings",
 * "features", "apiKeyVersion" }` (cloudwatchRoleArn absent until set); errors name their type in x-amzn-ErrorType
 * (https://docs.aws.amazon.com/apigateway/latest/api/API_GetAccount.html).
 */
import { regionOf } from "./account";
import { restJson, ServiceHandler } from "./server";

export const handleApiGateway: ServiceHandler = (req, account) => {
    if (req.method !== "GET" || req.path !== "/account") return undefined;
    account.calls.push(`apigateway:GET/account@${req.region}`);
    if (account.denied.includes("apigateway:GET")) {
        return restJson(
            403,
            {
                message: `User: ${account.callerArn} is not authorized to perform: apigateway:GET on resource: arn:aws:apigateway:${req.region}::/account`,
            },
            "AccessDeniedException",
        );
    }
    const roleArn = regionOf(account, req.region).apiGatewayCloudwatchRoleArn;
    return restJson(200, {
        ...(roleArn ? { cloudwatchRoleArn: roleArn } : {}),
        throttleSettings: { burstLimit: 5000, rateLimit: 10000 },
        features: ["UsagePlans"],
        apiKeyVersion: "4",
    });
};
