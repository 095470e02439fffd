/**
 * Lambda GetAccountSettings over REST-JSON: `GET /2016-08-19/account-settings/`, answer
 * `{ "AccountLimit": {…}, "AccountUsage": {…} }`; errors name their type in x-amzn-ErrorType
 * (https://docs.aws.amazon.com/lambda/latest/api/API_GetAccountSettings.html).
 */
import { regionOf } from "./account";
import { restJson, ServiceHandler } from "./server";

export const handleLambda: ServiceHandler = (req, account) => {
    if (!req.path.startsWith("/2016-08-19/account-settings")) return undefined;
    account.calls.push(`lambda:GetAccountSettings@${req.region}`);
    if (account.denied.includes("lambda:GetAccountSettings")) {
        return restJson(
            403,
            {
                Type: "User",
                message: `User: ${account.callerArn} is not authorized to perform: lambda:GetAccountSettings`,
            },
            "AccessDeniedException",
        );
    }
    const l = regionOf(account, req.region).lambda;
    return restJson(200, {
        AccountLimit: {
            TotalCodeSize: 80530636800,
            CodeSizeUnzipped: 262144000,
            CodeSizeZipped: 52428800,
            ConcurrentExecutions: l.concurrentExecutions,
            UnreservedConcurrentExecutions: l.unreservedConcurrentExecutions,
        },
        AccountUsage: { TotalCodeSize: 0, FunctionCount: 0 },
    });
};
