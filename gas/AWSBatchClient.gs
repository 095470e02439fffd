/**
 * AWSBatchClient.gs — calls the ops-platform form-sender API from Google Apps Script (V8).
 *
 * Script Properties (paste the output of `npm run gas-config -- --stack <name>`):
 *   USE_AWS_BATCH, FORM_SENDER_AWS_API_BASE_URL, FORM_SENDER_AWS_REGION,
 *   FORM_SENDER_AWS_ACCESS_KEY_ID, FORM_SENDER_AWS_SECRET_ACCESS_KEY, FORM_SENDER_S3_BUCKET
 *
 * Every API request is signed with AWS Signature Version 4 (service execute-api). Only what a
 * retry can fix is retried, after 1 s, 4 s and 9 s: the API's error body when it says so
 * (`error.retryable`), otherwise 429, 503 and 504, and network exceptions UrlFetchApp throws
 * (DNS, connection, timeout: `muteHttpExceptions` only covers HTTP statuses,
 * https://developers.google.com/apps-script/reference/url-fetch/url-fetch-app#fetchurl,-params).
 * Anything else, or the last retry failing, throws an Error whose `status` (0: no answer) and
 * `body` carry the API's answer.
 *
 * submitFormSenderJob is safe to retry: it gives each logical submit one idempotency key (unless
 * the caller passes its own), so a retry after a lost answer returns the same execution
 * (`duplicate: true`) instead of starting a second one; and a duplicate whose execution failed
 * throws, because nothing runs for it.
 */

var AWS_BATCH_RETRY_DELAYS_MS = [1000, 4000, 9000];
/** HTTP statuses a retry can fix when the body does not say: throttling, unavailable, gateway timeout. */
var AWS_BATCH_RETRY_STATUSES = [429, 503, 504];

/**
 * Submits a form-sender job for `targetingId`; payload as the submit route documents it. Returns
 * the API's answer; throws when the submit failed, also when the answer is a duplicate of a
 * submit whose execution failed (`e.status` 409, `e.body` that answer).
 */
function submitFormSenderJob(targetingId, payload) {
    var body = Object.assign({}, payload || {}, { targeting_id: String(targetingId) });
    if (!body.idempotency_key) body.idempotency_key = "gas-" + Utilities.getUuid();
    var answer = AWSBatchClient_().request("POST", "/form-sender/submit", null, body);
    if (answer && answer.duplicate && (answer.status === "failed" || answer.status === "cancelled")) {
        throw AWSBatchError_(
            "POST /form-sender/submit: the execution " +
                answer.execution_id +
                " of idempotency key " +
                body.idempotency_key +
                " is " +
                answer.status +
                (answer.error ? " (" + answer.error + ")" : "") +
                "; nothing runs for it. Submit again with a new idempotency key once the cause is fixed.",
            409,
            answer,
        );
    }
    return answer;
}

/** Uploads a client_config through a presigned URL; returns the key for `client_config_object`. */
function uploadClientConfig(clientConfig, targetingId) {
    var client = AWSBatchClient_();
    var upload = client.request(
        "POST",
        "/form-sender/client-config-upload",
        null,
        targetingId ? { targeting_id: String(targetingId) } : {},
    );
    var response = UrlFetchApp.fetch(upload.url, {
        method: "put",
        contentType: "application/json",
        payload: JSON.stringify(clientConfig),
        muteHttpExceptions: true,
    });
    var status = response.getResponseCode();
    if (status < 200 || status >= 300) {
        throw AWSBatchError_("client config upload failed with HTTP " + status, status, response.getContentText());
    }
    return upload.key;
}

/** Lists executions, optionally filtered by targeting id and status. */
function listExecutions(targetingId, status) {
    var query = {};
    if (targetingId) query.targeting_id = String(targetingId);
    if (status) query.status = String(status);
    return AWSBatchClient_().request("GET", "/form-sender/executions", query, null);
}

/**
 * Cancels an execution (terminates its Batch job). An execution already cancelled counts as done:
 * a retry after a lost answer finds it so (409 already_finished with status cancelled).
 */
function cancelExecution(executionId) {
    try {
        return AWSBatchClient_().request(
            "POST",
            "/form-sender/executions/" + encodeURIComponent(executionId) + "/cancel",
            null,
            {},
        );
    } catch (e) {
        var details = e.body && e.body.error && e.body.error.details;
        if (e.status === 409 && details && details.status === "cancelled") {
            return { execution_id: String(executionId), status: "cancelled", already: true };
        }
        throw e;
    }
}

/** Reads the Script Properties and returns a client; throws naming any missing property. */
function AWSBatchClient_() {
    var props = PropertiesService.getScriptProperties();
    var required = [
        "FORM_SENDER_AWS_API_BASE_URL",
        "FORM_SENDER_AWS_REGION",
        "FORM_SENDER_AWS_ACCESS_KEY_ID",
        "FORM_SENDER_AWS_SECRET_ACCESS_KEY",
    ];
    var values = {};
    required.forEach(function (name) {
        var v = props.getProperty(name);
        if (!v)
            throw new Error(
                "Script Property " + name + " is not set; paste the output of `npm run gas-config -- --stack <name>`",
            );
        values[name] = v;
    });
    if (String(props.getProperty("USE_AWS_BATCH")).toLowerCase() !== "true") {
        throw new Error('Script Property USE_AWS_BATCH is not "true"; the AWS Batch path is switched off');
    }
    return new AWSBatchApi_(
        values.FORM_SENDER_AWS_API_BASE_URL,
        values.FORM_SENDER_AWS_REGION,
        values.FORM_SENDER_AWS_ACCESS_KEY_ID,
        values.FORM_SENDER_AWS_SECRET_ACCESS_KEY,
    );
}

function AWSBatchApi_(baseUrl, region, accessKeyId, secretAccessKey) {
    var m = /^https:\/\/([^\/]+)(\/.*)?$/.exec(String(baseUrl).replace(/\/+$/, ""));
    if (!m) throw new Error("FORM_SENDER_AWS_API_BASE_URL must be an https URL, got " + baseUrl);
    this.host = m[1];
    this.basePath = m[2] || "";
    this.region = region;
    this.accessKeyId = accessKeyId;
    this.secretAccessKey = secretAccessKey;
}

/** Sends one signed request, retrying what a retry can fix; returns the parsed JSON answer. */
AWSBatchApi_.prototype.request = function (method, path, query, body) {
    var payload = body === null || body === undefined ? "" : JSON.stringify(body);
    for (var attempt = 0; ; attempt++) {
        var signed = this.sign(method, this.basePath + path, query || {}, payload, new Date());
        var options = {
            method: method.toLowerCase(),
            headers: signed.headers,
            muteHttpExceptions: true,
            followRedirects: false,
        };
        if (payload !== "") {
            options.payload = payload;
            options.contentType = "application/json";
        }
        var response;
        try {
            response = UrlFetchApp.fetch(signed.url, options);
        } catch (e) {
            // No answer at all: the request may or may not have arrived, which the idempotency key covers.
            if (attempt >= AWS_BATCH_RETRY_DELAYS_MS.length) {
                throw AWSBatchError_(method + " " + path + " failed without an answer: " + e.message, 0, null);
            }
            Utilities.sleep(AWS_BATCH_RETRY_DELAYS_MS[attempt]);
            continue;
        }
        var status = response.getResponseCode();
        var text = response.getContentText();
        if (status >= 200 && status < 300) return text ? JSON.parse(text) : null;
        var parsed = null;
        try {
            parsed = JSON.parse(text);
        } catch (e) {
            parsed = null;
        }
        var said =
            parsed && parsed.error && typeof parsed.error.retryable === "boolean" ? parsed.error.retryable : null;
        var retryable = said !== null ? said : AWS_BATCH_RETRY_STATUSES.indexOf(status) >= 0;
        if (!retryable || attempt >= AWS_BATCH_RETRY_DELAYS_MS.length) {
            var message =
                parsed && parsed.error && parsed.error.message
                    ? parsed.error.message
                    : (parsed && parsed.message) || text;
            throw AWSBatchError_(
                method + " " + path + " failed with HTTP " + status + ": " + message,
                status,
                parsed || text,
            );
        }
        Utilities.sleep(AWS_BATCH_RETRY_DELAYS_MS[attempt]);
    }
};

/** AWS Signature Version 4 for execute-api: returns the URL and the headers to send. */
AWSBatchApi_.prototype.sign = function (method, path, query, payload, date) {
    var amzDate = date
        .toISOString()
        .replace(/[-:]/g, "")
        .replace(/\.\d{3}/, "");
    var day = amzDate.slice(0, 8);
    // The path goes on the wire encoded once; SigV4 for every service but S3 signs it encoded
    // twice, after dropping empty and '.' segments and resolving '..'.
    var segments = [];
    path.split("/").forEach(function (seg) {
        if (seg === "" || seg === ".") return;
        if (seg === "..") segments.pop();
        else segments.push(AWSBatchUriEncode_(AWSBatchDecode_(seg)));
    });
    var wirePath = "/" + segments.join("/") + (segments.length && /\/$/.test(path) ? "/" : "");
    var canonicalUri = wirePath.split("/").map(AWSBatchUriEncode_).join("/");
    // Sorted by the encoded key, as SigV4 specifies (raw and encoded order differ for non-ASCII).
    var canonicalQuery = Object.keys(query)
        .map(function (k) {
            return [AWSBatchUriEncode_(k), AWSBatchUriEncode_(String(query[k]))];
        })
        .sort(function (a, b) {
            return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
        })
        .map(function (kv) {
            return kv[0] + "=" + kv[1];
        })
        .join("&");
    var payloadHash = AWSBatchHex_(
        Utilities.computeDigest(Utilities.DigestAlgorithm.SHA_256, payload, Utilities.Charset.UTF_8),
    );
    var headers = { host: this.host, "x-amz-content-sha256": payloadHash, "x-amz-date": amzDate };
    var signedHeaders = Object.keys(headers).sort();
    var canonicalHeaders = signedHeaders
        .map(function (h) {
            return h + ":" + String(headers[h]).trim() + "\n";
        })
        .join("");
    var canonicalRequest = [
        method.toUpperCase(),
        canonicalUri,
        canonicalQuery,
        canonicalHeaders,
        signedHeaders.join(";"),
        payloadHash,
    ].join("\n");
    var scope = day + "/" + this.region + "/execute-api/aws4_request";
    var stringToSign = [
        "AWS4-HMAC-SHA256",
        amzDate,
        scope,
        AWSBatchHex_(
            Utilities.computeDigest(Utilities.DigestAlgorithm.SHA_256, canonicalRequest, Utilities.Charset.UTF_8),
        ),
    ].join("\n");
    var kDate = Utilities.computeHmacSha256Signature(
        Utilities.newBlob(day).getBytes(),
        Utilities.newBlob("AWS4" + this.secretAccessKey).getBytes(),
    );
    var kRegion = Utilities.computeHmacSha256Signature(Utilities.newBlob(this.region).getBytes(), kDate);
    var kService = Utilities.computeHmacSha256Signature(Utilities.newBlob("execute-api").getBytes(), kRegion);
    var kSigning = Utilities.computeHmacSha256Signature(Utilities.newBlob("aws4_request").getBytes(), kService);
    var signature = AWSBatchHex_(
        Utilities.computeHmacSha256Signature(Utilities.newBlob(stringToSign).getBytes(), kSigning),
    );
    var sent = {
        "X-Amz-Date": amzDate,
        "X-Amz-Content-Sha256": payloadHash,
        Authorization:
            "AWS4-HMAC-SHA256 Credential=" +
            this.accessKeyId +
            "/" +
            scope +
            ", SignedHeaders=" +
            signedHeaders.join(";") +
            ", Signature=" +
            signature,
    };
    return {
        url: "https://" + this.host + wirePath + (canonicalQuery ? "?" + canonicalQuery : ""),
        headers: sent,
        signature: signature,
        amzDate: amzDate,
    };
};

/** RFC 3986 encoding as SigV4 requires (unreserved characters kept, everything else %XX). */
function AWSBatchUriEncode_(s) {
    return encodeURIComponent(s).replace(/[!'()*]/g, function (c) {
        return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    });
}

function AWSBatchDecode_(s) {
    try {
        return decodeURIComponent(s);
    } catch (e) {
        return s;
    }
}

/** Apps Script byte arrays hold signed bytes (-128..127). */
function AWSBatchHex_(bytes) {
    return bytes
        .map(function (b) {
            return ("0" + (b & 0xff).toString(16)).slice(-2);
        })
        .join("");
}

function AWSBatchError_(message, status, body) {
    var e = new Error(message);
    e.status = status;
    e.body = body;
    return e;
}
