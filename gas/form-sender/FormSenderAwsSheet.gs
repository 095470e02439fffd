/**
 * FormSenderAwsSheet.gs — the targeting sheet as rows keyed by header, and the write-back of the
 * AWS columns. The sheet is the bound spreadsheet's tab named by Script Property
 * FORM_SENDER_TARGETING_SHEET (default "targeting"); row 1 holds the headers of
 * FORM_SENDER_AWS_COLUMNS (only targeting_id is required) and FORM_SENDER_AWS_WRITE_BACK (all required,
 * anywhere in row 1; other columns of yours are left alone).
 */

function formSenderAwsSheet_() {
    var name = PropertiesService.getScriptProperties().getProperty("FORM_SENDER_TARGETING_SHEET") || "targeting";
    // The container of a bound script; the manifest's spreadsheets.currentonly scope reaches no other file.
    var spreadsheet = SpreadsheetApp.getActiveSpreadsheet();
    if (!spreadsheet) {
        throw new Error(
            "this script is not bound to a spreadsheet (SpreadsheetApp.getActiveSpreadsheet() is null); add the " +
                "package through Extensions > Apps Script of the targeting spreadsheet",
        );
    }
    var sheet = spreadsheet.getSheetByName(name);
    if (!sheet) {
        throw new Error(
            "no sheet named " +
                JSON.stringify(name) +
                " in this spreadsheet; rename the targeting tab or set " +
                "Script Property FORM_SENDER_TARGETING_SHEET to its name",
        );
    }
    return new FormSenderAwsTargetingSheet_(sheet);
}

/** Reads the whole sheet once (getValues) and writes single rows back. */
function FormSenderAwsTargetingSheet_(sheet) {
    this.sheet = sheet;
    var values = sheet.getDataRange().getValues();
    this.headers = (values[0] || []).map(function (h) {
        return String(h).trim();
    });
    var missing = ["targeting_id"].concat(FORM_SENDER_AWS_WRITE_BACK).filter(function (h) {
        return this.headers.indexOf(h) < 0;
    }, this);
    if (missing.length) {
        throw new Error(
            "the targeting sheet has no column " +
                missing.join(", ") +
                "; add a column with that header in row 1 " +
                "(the AWS Batch path writes jobId, arraySize, submittedAt and its status there)",
        );
    }
    this.rows = values.slice(1).map(function (cells, i) {
        var row = { _row: i + 2 };
        this.headers.forEach(function (h, c) {
            if (h !== "") row[h] = cells[c];
        });
        return row;
    }, this);
}

/** The row of `targetingId`; throws naming the id when it is missing or listed twice. */
FormSenderAwsTargetingSheet_.prototype.row = function (targetingId) {
    var id = String(targetingId).trim();
    var found = this.rows.filter(function (r) {
        return String(r.targeting_id).trim() === id;
    });
    if (found.length !== 1) {
        throw new Error(
            found.length === 0
                ? "targeting " + id + " is not in the targeting sheet (column targeting_id)"
                : "targeting " + id + " is listed " + found.length + " times in the targeting sheet; keep one row",
        );
    }
    return found[0];
};

/** Rows whose id is set, in sheet order. */
FormSenderAwsTargetingSheet_.prototype.targetings = function () {
    return this.rows.filter(function (r) {
        return String(r.targeting_id === null || r.targeting_id === undefined ? "" : r.targeting_id).trim() !== "";
    });
};

/** Writes the given write-back columns of one row (others untouched) and flushes. */
FormSenderAwsTargetingSheet_.prototype.write = function (row, fields) {
    Object.keys(fields).forEach(function (h) {
        var c = this.headers.indexOf(h);
        if (c < 0 || FORM_SENDER_AWS_WRITE_BACK.indexOf(h) < 0) throw new Error("not a write-back column: " + h);
        this.sheet.getRange(row._row, c + 1).setValue(fields[h]);
        row[h] = fields[h];
    }, this);
    SpreadsheetApp.flush();
};
