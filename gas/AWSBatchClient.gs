/**
 * AWSBatchClient.gs — calls the ops-platform form-sender API from Google Apps Script (V8).
 *
 * Script Properties (paste the output of `npm run gas-config -- --stack <name>`):
 *   USE_AWS_BATCH, FORM_SENDER_AWS_API_BASE_URL, FORM_SENDER_AWS_REGION,
 *   FORM_SENDER_AWS_ACCESS_KEY_ID, FORM_SENDER_AWS_SECRET_ACCESS_KEY, FORM_SENDER_S3_BUCKET
 *
 * Every API request is signed with AWS Signature Version 4 (service execute-api). Throttling
 * (429) and server errors (5xx) are retried after 1 s, 4 s and 9 s; any other error, or the last
 * retry failing, throws an Error whose `status` and `body` carry the API's answer.
 */

var AWS_BATCH_RETRY_DELAYS_MS = [1000, 4000, 9000];

/** Submits a form-sender job for `targetingId`; payload as the submit route documents it. */
function submitFormSenderJob(targetingId, payload) {
    var body = Object.assign({}, payload || {}, { targeting_id: String(targetingId) });
    return AWSBatchClient_().request("POST", "/form-sender/submit", null, body);
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

/** Cancels an execution (terminates its Batch job). */
function cancelExecution(executionId) {
    return AWSBatchClient_().request(
        "POST",
        "/form-sender/executions/" + encodeURIComponent(executionId) + "/cancel",
        null,
        {},
    );
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

/** Sends one signed request, retrying throttling and 5xx; returns the parsed JSON answer. */
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
        var response = UrlFetchApp.fetch(signed.url, options);
        var status = response.getResponseCode();
        var text = response.getContentText();
        if (status >= 200 && status < 300) return text ? JSON.parse(text) : null;
        var retryable = status === 429 || status >= 500;
        if (!retryable || attempt >= AWS_BATCH_RETRY_DELAYS_MS.length) {
            var parsed = null;
            try {
                parsed = JSON.parse(text);
            } catch (e) {
                parsed = null;
            }
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
