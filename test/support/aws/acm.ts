/**
 * ACM DescribeCertificate over JSON 1.1 (X-Amz-Target `CertificateManager.DescribeCertificate`), response
 * `{ "Certificate": CertificateDetail }` with timestamps as epoch seconds; errors ResourceNotFoundException and
 * InvalidArnException (https://docs.aws.amazon.com/acm/latest/APIReference/API_DescribeCertificate.html).
 */
import { json11, json11Error, member, ServiceHandler } from "./server";

export const handleAcm: ServiceHandler = (req, account) => {
    if (req.target !== "CertificateManager.DescribeCertificate") return undefined;
    account.calls.push(`acm:DescribeCertificate@${req.region}`);
    if (account.denied.includes("acm:DescribeCertificate")) {
        return json11Error(
            400,
            "AccessDeniedException",
            `User: ${account.callerArn} is not authorized to perform: acm:DescribeCertificate`,
        );
    }
    const arn = member(req, "CertificateArn");
    const cert = account.certificates[arn];
    if (!cert || arn.split(":")[3] !== req.region) {
        return json11Error(400, "ResourceNotFoundException", `Could not find certificate ${arn}.`);
    }
    return json11(200, {
        Certificate: {
            CertificateArn: arn,
            DomainName: cert.domainName,
            Status: cert.status,
            Type: "AMAZON_ISSUED",
            NotAfter: cert.notAfter.getTime() / 1000,
        },
    });
};
