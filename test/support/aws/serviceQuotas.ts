/**
 * Service Quotas over JSON 1.1 (X-Amz-Target `ServiceQuotasV20190624.<Operation>`): GetServiceQuota answers the
 * applied value or NoSuchResourceException when the quota has none; GetAWSDefaultServiceQuota the AWS default.
 * Shapes: https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html and
 * API_GetAWSDefaultServiceQuota.html (response `{ "Quota": ServiceQuota }`, errors AccessDeniedException,
 * NoSuchResourceException, …).
 */
import { regionOf } from "./account";
import { json11, json11Error, member, ServiceHandler } from "./server";

const PREFIX = "ServiceQuotasV20190624.";

export const handleServiceQuotas: ServiceHandler = (req, account) => {
    if (!req.target.startsWith(PREFIX)) return undefined;
    const op = req.target.slice(PREFIX.length);
    account.calls.push(`servicequotas:${op}@${req.region}`);
    if (account.denied.includes(`servicequotas:${op}`)) {
        return json11Error(
            400,
            "AccessDeniedException",
            `User: ${account.callerArn} is not authorized to perform: servicequotas:${op}`,
        );
    }
    const serviceCode = member(req, "ServiceCode");
    const quotaCode = member(req, "QuotaCode");
    const r = regionOf(account, req.region);
    const key = `${serviceCode}/${quotaCode}`;
    const table =
        op === "GetServiceQuota" ? r.appliedQuotas : op === "GetAWSDefaultServiceQuota" ? r.defaultQuotas : undefined;
    if (!table) return json11Error(400, "IllegalArgumentException", `unsupported operation ${op}`);
    const value = table[key];
    if (value === undefined)
        return json11Error(
            400,
            "NoSuchResourceException",
            `The request failed because the specified quota ${quotaCode} does not exist.`,
        );
    return json11(200, {
        Quota: {
            ServiceCode: serviceCode,
            QuotaCode: quotaCode,
            QuotaArn: `arn:aws:servicequotas:${req.region}:${op === "GetServiceQuota" ? account.accountId : ""}:${serviceCode}/${quotaCode}`,
            Value: value,
            Unit: "None",
            Adjustable: true,
            GlobalQuota: false,
        },
    });
};
