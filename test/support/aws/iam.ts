/**
 * IAM GetRole over the query protocol (Version 2010-05-08) with an XML answer; a missing role answers 404
 * NoSuchEntity ("The role with name <name> cannot be found."), a denied caller 403 AccessDenied,
 * https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetRole.html.
 */
import { xmlEscape } from "./account";
import { ServiceHandler, xml } from "./server";

const NS = "https://iam.amazonaws.com/doc/2010-05-08/";

const error = (status: number, code: string, message: string) =>
    xml(
        status,
        `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>fake-request</RequestId></ErrorResponse>`,
    );

export const handleIam: ServiceHandler = (req, account) => {
    if (req.form.get("Version") !== "2010-05-08") return undefined;
    const action = req.form.get("Action") ?? "";
    account.calls.push(`iam:${action}@${req.region}`);
    if (account.denied.includes(`iam:${action}`)) {
        return error(403, "AccessDenied", `User: ${account.callerArn} is not authorized to perform: iam:${action}`);
    }
    if (action !== "GetRole") return error(400, "InvalidAction", `unsupported action ${action}`);
    const name = req.form.get("RoleName") ?? "";
    if (!account.roles.includes(name)) return error(404, "NoSuchEntity", `The role with name ${name} cannot be found.`);
    const path = name.startsWith("AWSServiceRoleFor") ? "/aws-service-role/" : "/";
    return xml(
        200,
        `<GetRoleResponse xmlns="${NS}"><GetRoleResult><Role><Path>${path}</Path><RoleName>${xmlEscape(name)}</RoleName><RoleId>AROAFAKE</RoleId><Arn>arn:aws:iam::${account.accountId}:role${path}${xmlEscape(name)}</Arn><CreateDate>2026-01-01T00:00:00Z</CreateDate><AssumeRolePolicyDocument>%7B%7D</AssumeRolePolicyDocument></Role></GetRoleResult><ResponseMetadata><RequestId>fake-request</RequestId></ResponseMetadata></GetRoleResponse>`,
    );
};
