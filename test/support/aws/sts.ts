/**
 * STS GetCallerIdentity over the query protocol (Version 2011-06-15) with an XML answer; an unknown access key
 * answers 403 InvalidClientTokenId ("The security token included in the request is invalid."),
 * https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html and CommonErrors.html.
 * No IAM policy can deny GetCallerIdentity (same page), so `denied` is not consulted.
 */
import { xmlEscape } from "./account";
import { ServiceHandler, xml } from "./server";

const NS = "https://sts.amazonaws.com/doc/2011-06-15/";

export const handleSts: ServiceHandler = (req, account) => {
    if (req.form.get("Version") !== "2011-06-15") return undefined;
    const action = req.form.get("Action");
    account.calls.push(`sts:${action}@${req.region}`);
    if (!account.accessKeyIds.includes(req.accessKeyId)) {
        return xml(
            403,
            `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>fake-request</RequestId></ErrorResponse>`,
        );
    }
    return xml(
        200,
        `<GetCallerIdentityResponse xmlns="${NS}"><GetCallerIdentityResult><Arn>${xmlEscape(account.callerArn)}</Arn><UserId>AIDAFAKE</UserId><Account>${account.accountId}</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>fake-request</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
    );
};
