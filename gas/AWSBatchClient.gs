/**
 * AWSBatchClient.gs — calls the ops-platform form-sender API from Google Apps Script (V8).
 *
 * Script Properties (paste the output of `npm run gas-config -- --stack <name>`):
 *   FORM_SENDER_AWS_API_BASE_URL, FORM_SENDER_AWS_REGION,
 *   FORM_SENDER_AWS_ACCESS_KEY_ID, FORM_SENDER_AWS_SECRET_ACCESS_KEY (FORM_SENDER_S3_BUCKET for reference)
 *
 * This file is only the transport: it never decides whether a targeting goes to AWS Batch. That is the
 * routing of the caller (FormSenderAwsSettings.gs: the row's useAwsBatch column → Script Property
 * USE_AWS_BATCH → off), so a few targetings can be piloted while USE_AWS_BATCH stays off.
 *
 * Every API request is signed with AWS Signature Version 4 (service execute-api). Only what a
 * retry can fix is retried, after 1 s, 4 s and 9 s: the API's error body when it says so
 * (`error.retryable`, which the dispatcher sets on every error), otherwise — API Gateway's own answers
 * carry no such flag — 429, 503 and 504, and network exceptions UrlFetchApp throws (DNS, connection,
 * timeout: `muteHttpExceptions` only covers HTTP statuses,
 * https://developers.google.com/apps-script/reference/url-fetch/url-fetch-app#fetchurl,-params).
 * Anything else, or the last retry failing, throws an Error whose `status` (0: no answer) and
 * `body` carry the API's answer; its message lists the API's `details` (each field and what is wrong).
 *
 * submitFormSenderJob is safe to retry: it gives each logical submit one idempotency key (unless
 * the caller passes its own), so a retry after a lost answer returns the same execution
 * (`duplicate: true`) instead of starting a second one; and a duplicate whose execution failed
 * throws, because nothing runs for it. submitFormSenderJobs does the same for up to
 * AWS_BATCH_FETCH_ALL_MAX submits at once with UrlFetchApp.fetchAll.
 */

var AWS_BATCH_RETRY_DELAYS_MS = [1000, 4000, 9000];
/** HTTP statuses a retry can fix when the body does not say: throttling, unavailable, gateway timeout. */
var AWS_BATCH_RETRY_STATUSES = [429, 503, 504];
/**
 * The longest URL UrlFetchApp fetches: "The URL can have up to 2,082 characters"
 * (https://developers.google.com/apps-script/reference/url-fetch/url-fetch-app#fetch(String,Object); the
 * quotas page lists "URL Fetch URL length 2 kB / URL",
 * https://developers.google.com/apps-script/guides/services/quotas).
 * A longer one is refused here with the length and the fix instead of Apps Script's "Limit Exceeded".
 */
var AWS_BATCH_URL_MAX_CHARS = 2082;
/**
 * Most submits sent in one UrlFetchApp.fetchAll: API Gateway's stage allows bursts of 50 requests and 10
 * a second (components/formSender/api.ts), so 10 at once stay within the rate even when retried together.
 */
var AWS_BATCH_FETCH_ALL_MAX = 10;

/**
 * Submits a form-sender job for `targetingId`; payload as the submit route documents it. Returns
 * the API's answer; throws when the submit failed, also when the answer is a duplicate of a
 * submit whose execution failed (`e.status` 409, `e.body` that answer).
 */
function submitFormSenderJob(targetingId, payload) {
    var body = AWSBatchSubmitBody_(targetingId, payload);
    var answer = AWSBatchClient_().request("POST", "/form-sender/submit", null, body);
    AWSBatchCheckDuplicate_(answer, body.idempotency_key);
    return answer;
}

/**
 * Submits several targetings at once with UrlFetchApp.fetchAll: `submits` is an array of
 * `{ targetingId, payload }` (at most AWS_BATCH_FETCH_ALL_MAX). Returns one entry per submit, in the
 * same order: `{ answer }` as submitFormSenderJob returns it, or `{ error }` as it would throw. Each
 * submit keeps its idempotency key through the retries, and only the submits whose answer says a retry
 * can help are sent again, so no targeting is submitted twice.
 */
function submitFormSenderJobs(submits) {
    if (!submits || !submits.length) return [];
    if (submits.length > AWS_BATCH_FETCH_ALL_MAX) {
        throw new Error(
            "submitFormSenderJobs got " +
                submits.length +
                " submits; send at most " +
                AWS_BATCH_FETCH_ALL_MAX +
                " at once (API Gateway allows 10 requests a second)",
        );
    }
    var bodies = submits.map(function (s) {
        return AWSBatchSubmitBody_(s.targetingId, s.payload);
    });
    var results = AWSBatchClient_().requestAll(
        bodies.map(function (body) {
            return { method: "POST", path: "/form-sender/submit", query: null, body: body };
        }),
    );
    return results.map(function (r, i) {
        if (r.error) return r;
        try {
            AWSBatchCheckDuplicate_(r.answer, bodies[i].idempotency_key);
        } catch (e) {
            return { error: e };
        }
        return r;
    });
}

function AWSBatchSubmitBody_(targetingId, payload) {
    var body = Object.assign({}, payload || {}, { targeting_id: String(targetingId) });
    if (!body.idempotency_key) body.idempotency_key = "gas-" + Utilities.getUuid();
    return body;
}

/** A duplicate whose execution failed or was cancelled: nothing runs for it, so it is an error. */
function AWSBatchCheckDuplicate_(answer, idempotencyKey) {
    if (answer && answer.duplicate && (answer.status === "failed" || answer.status === "cancelled")) {
        throw AWSBatchError_(
            "POST /form-sender/submit: the execution " +
                answer.execution_id +
                " of idempotency key " +
                idempotencyKey +
                " is " +
                answer.status +
                (answer.error ? " (" + answer.error + ")" : "") +
                "; nothing runs for it. Submit again with a new idempotency key once the cause is fixed.",
            409,
            answer,
        );
    }
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
    AWSBatchCheckUrl_(upload.url, "the presigned upload URL of POST /form-sender/client-config-upload");
    var options = {
        method: "put",
        contentType: "application/json",
        // UTF-8 bytes, as the API requests are sent: the config's Japanese text arrives as written whatever charset
        // UrlFetchApp would pick for a string payload.
        payload: Utilities.newBlob(JSON.stringify(clientConfig)).getBytes(),
        muteHttpExceptions: true,
    };
    // A PUT of the same bytes to the same key is idempotent, so no answer, 500 InternalError and 503 SlowDown (S3's
    // "try again" errors, https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html) are retried on the
    // API's schedule, well within the URL's 15 minutes; anything else fails at once.
    for (var attempt = 0; ; attempt++) {
        var last = attempt >= AWS_BATCH_RETRY_DELAYS_MS.length;
        var response;
        try {
            response = UrlFetchApp.fetch(upload.url, options);
        } catch (e) {
            if (last) throw AWSBatchError_("client config upload failed without an answer: " + e.message, 0, null);
            Utilities.sleep(AWS_BATCH_RETRY_DELAYS_MS[attempt]);
            continue;
        }
        var status = response.getResponseCode();
        if (status >= 200 && status < 300) break;
        if (last || (status !== 500 && status !== 503)) {
            throw AWSBatchError_("client config upload failed with HTTP " + status, status, response.getContentText());
        }
        Utilities.sleep(AWS_BATCH_RETRY_DELAYS_MS[attempt]);
    }
    return upload.key;
}

/**
 * Most pages listExecutions reads (100 executions each, so 5,000 executions): a bound, so that an API that kept
 * answering a next_cursor (a bug) cannot keep a script fetching until Apps Script's 6-minute limit.
 */
var AWS_BATCH_LIST_MAX_PAGES = 50;

/**
 * Lists every execution, optionally filtered by targeting id and status (comma-separated), newest first, as
 * `{ executions: [...] }`: follows the API's `next_cursor` page by page until it is null, so an execution beyond
 * the first page (100) is not missed. Throws an Error naming AWS_BATCH_LIST_MAX_PAGES when the pages do not end
 * within it.
 */
function listExecutions(targetingId, status) {
    var executions = [];
    var cursor = null;
    for (var page = 0; page < AWS_BATCH_LIST_MAX_PAGES; page++) {
        var answer = listExecutionsPage_(targetingId, status, cursor, null);
        executions = executions.concat(answer.executions || []);
        // An API from before paging answers no next_cursor: its one page is all there is to read.
        if (!answer.next_cursor) return { executions: executions };
        cursor = answer.next_cursor;
    }
    throw new Error(
        "listExecutions read AWS_BATCH_LIST_MAX_PAGES (" +
            AWS_BATCH_LIST_MAX_PAGES +
            ") pages of GET /form-sender/executions (" +
            executions.length +
            " executions) and the API still answered a next_cursor; list with a targeting id or a status to read " +
            "fewer, or raise AWS_BATCH_LIST_MAX_PAGES if that many executions are expected",
    );
}

/**
 * One page of GET /form-sender/executions: `cursor` is the previous page's `next_cursor` (null: the first page),
 * `limit` 1-100 (null: 100). Returns the API's answer `{ executions: [...], next_cursor }`.
 */
function listExecutionsPage_(targetingId, status, cursor, limit) {
    var query = {};
    if (targetingId) query.targeting_id = String(targetingId);
    if (status) query.status = String(status);
    if (cursor) query.cursor = String(cursor);
    if (limit) query.limit = String(limit);
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

/**
 * Cancels up to AWS_BATCH_FETCH_ALL_MAX executions with one UrlFetchApp.fetchAll. Returns one entry per id,
 * in order: `{ answer }` (an execution already cancelled counts as cancelled, as in cancelExecution) or
 * `{ error }` (a 409 `already_finished` carries the final status in `error.body.error.details.status`).
 */
function cancelExecutions(executionIds) {
    if (!executionIds || !executionIds.length) return [];
    if (executionIds.length > AWS_BATCH_FETCH_ALL_MAX) {
        throw new Error(
            "cancelExecutions got " +
                executionIds.length +
                " ids; send at most " +
                AWS_BATCH_FETCH_ALL_MAX +
                " at once",
        );
    }
    var results = AWSBatchClient_().requestAll(
        executionIds.map(function (id) {
            return {
                method: "POST",
                path: "/form-sender/executions/" + encodeURIComponent(id) + "/cancel",
                query: null,
                body: {},
            };
        }),
    );
    return results.map(function (r, i) {
        var details = r.error && r.error.body && r.error.body.error && r.error.body.error.details;
        if (r.error && r.error.status === 409 && details && details.status === "cancelled") {
            return { answer: { execution_id: String(executionIds[i]), status: "cancelled", already: true } };
        }
        return r;
    });
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
    var r = this.requestAll([{ method: method, path: path, query: query, body: body }], true)[0];
    if (r.error) throw r.error;
    return r.answer;
};

/**
 * Sends signed requests together (UrlFetchApp.fetchAll; fetch for one), retrying on the shared schedule
 * the ones whose answer a retry can fix. Returns `{ answer }` or `{ error }` per request, in order.
 *
 * fetchAll takes request objects (`url` plus fetch's parameters, `muteHttpExceptions` among them) and
 * returns "an array of HTTP response data from each input request", in the order of the requests
 * (https://developers.google.com/apps-script/reference/url-fetch/url-fetch-app#fetchAll(Object)). A request
 * that gets no answer makes the whole call throw, so which of them arrived is unknown: all are sent again,
 * each with the same body and so the same idempotency key.
 */
AWSBatchApi_.prototype.requestAll = function (requests, single) {
    var self = this;
    // Each body as its UTF-8 bytes, hashed for the signature and sent as they are. UrlFetchApp takes a byte array as
    // the payload ("It can be a string, a byte array, a blob, or a JavaScript object",
    // https://developers.google.com/apps-script/reference/url-fetch/url-fetch-app#fetch(String,Object)), so the
    // charset it would pick for a string never makes the bytes on the wire differ from the signed ones, which would
    // fail SigV4 for any non-ASCII body (a Japanese company name or message).
    var payloads = requests.map(function (r) {
        return r.body === null || r.body === undefined ? null : Utilities.newBlob(JSON.stringify(r.body)).getBytes();
    });
    var results = requests.map(function () {
        return null;
    });
    var pending = requests.map(function (r, i) {
        return i;
    });
    for (var attempt = 0; ; attempt++) {
        var fetches = pending.map(function (i) {
            var r = requests[i];
            var signed = self.sign(r.method, self.basePath + r.path, r.query || {}, payloads[i] || "", new Date());
            AWSBatchCheckUrl_(signed.url, r.method + " " + r.path);
            var options = {
                url: signed.url,
                method: r.method.toLowerCase(),
                headers: signed.headers,
                muteHttpExceptions: true,
                followRedirects: false,
            };
            if (payloads[i] !== null) {
                options.payload = payloads[i];
                options.contentType = "application/json";
            }
            return options;
        });
        var last = attempt >= AWS_BATCH_RETRY_DELAYS_MS.length;
        var again = [];
        var responses = null;
        try {
            responses =
                single && fetches.length === 1
                    ? [UrlFetchApp.fetch(fetches[0].url, fetches[0])]
                    : UrlFetchApp.fetchAll(fetches);
        } catch (e) {
            // No answer at all: the requests may or may not have arrived, which the idempotency key covers.
            pending.forEach(function (i) {
                var r = requests[i];
                if (last) {
                    results[i] = {
                        error: AWSBatchError_(
                            r.method + " " + r.path + " failed without an answer: " + e.message,
                            0,
                            null,
                        ),
                    };
                } else again.push(i);
            });
        }
        if (responses) {
            pending.forEach(function (i, k) {
                var outcome = AWSBatchOutcome_(requests[i], responses[k]);
                if (outcome.retryable && !last) again.push(i);
                else results[i] = outcome.error ? { error: outcome.error } : { answer: outcome.answer };
            });
        }
        if (!again.length) return results;
        Utilities.sleep(AWS_BATCH_RETRY_DELAYS_MS[attempt]);
        pending = again;
    }
};

/** One HTTP answer: `{ answer }`, or `{ error, retryable }` (the error body's flag, else the status). */
function AWSBatchOutcome_(request, response) {
    var status = response.getResponseCode();
    var text = response.getContentText();
    if (status >= 200 && status < 300) return { answer: text ? JSON.parse(text) : null };
    var parsed = null;
    try {
        parsed = JSON.parse(text);
    } catch (e) {
        parsed = null;
    }
    var said = parsed && parsed.error && typeof parsed.error.retryable === "boolean" ? parsed.error.retryable : null;
    var message =
        parsed && parsed.error && parsed.error.message ? parsed.error.message : (parsed && parsed.message) || text;
    var details = parsed && parsed.error && Array.isArray(parsed.error.details) ? parsed.error.details : [];
    var listed = details
        .filter(function (d) {
            return d && typeof d.message === "string";
        })
        .map(function (d) {
            return (d.path ? d.path + " " : "") + d.message;
        });
    return {
        retryable: said !== null ? said : AWS_BATCH_RETRY_STATUSES.indexOf(status) >= 0,
        error: AWSBatchError_(
            request.method +
                " " +
                request.path +
                " failed with HTTP " +
                status +
                ": " +
                message +
                (listed.length ? " (" + listed.join("; ") + ")" : ""),
            status,
            parsed || text,
        ),
    };
}

/** Refuses a URL UrlFetchApp would refuse, naming its length and the limit. */
function AWSBatchCheckUrl_(url, what) {
    if (String(url).length > AWS_BATCH_URL_MAX_CHARS) {
        throw AWSBatchError_(
            what +
                " is " +
                String(url).length +
                " characters; UrlFetchApp fetches at most " +
                AWS_BATCH_URL_MAX_CHARS +
                ". Send the client config inline (a valid one always fits) or shorten the query",
            0,
            null,
        );
    }
}

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
    // payload: the body's bytes as sent (requestAll), or a string hashed as UTF-8 ("" for no body).
    var payloadHash = AWSBatchHex_(
        typeof payload === "string"
            ? Utilities.computeDigest(Utilities.DigestAlgorithm.SHA_256, payload, Utilities.Charset.UTF_8)
            : Utilities.computeDigest(Utilities.DigestAlgorithm.SHA_256, payload),
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
