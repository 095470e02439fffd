/**
 * Scanner part: one input/select/textarea as a `FieldInfo`, with its labels, the caption of its
 * row and the hints that it is a bot trap. Runs inside the page (see ../scan.ts): uses only its
 * parameters and browser globals.
 */
import type { DomControl, DomDocument, DomElement } from "../dom";
import type { FieldInfo } from "../types";
import type { CaptionReader } from "./caption";
import type { IdAllocator } from "./ids";
import type { Layout } from "./layout";
import type { TextReader } from "./text";

declare const document: DomDocument;

/** Describes control `el` of the form `boundary` (scanner id `formKey`). */
export type FieldDescriber = (el: DomControl, boundary: DomElement, formKey: number) => FieldInfo;

export function makeFieldDescriber(
    ids: IdAllocator,
    reader: TextReader,
    layout: Layout,
    caption: CaptionReader,
): FieldDescriber {
    const { idOf } = ids;
    const { clean, textOf } = reader;
    const { isVisible } = layout;
    const { captionOf, trailingOf } = caption;
    // Bot traps give themselves away by name/id/class or by a label asking humans to leave them empty.
    const HONEYPOT_NAME = new RegExp(
        [
            /honey|hpot|trap/,
            /bot[-_]?(check|field|trap)/,
            /do[-_]?not[-_]?fill/,
            /leave[-_]?(this[-_]?)?(blank|empty)/,
            /spam[-_]?(check|field)/,
        ]
            .map((r) => r.source)
            .join("|"),
        "i",
    );
    const HONEYPOT_LABEL = new RegExp(
        [
            /(空欄|空白)のまま|入力しないで|記入しないで/,
            /leave (this )?(field )?(blank|empty)/,
            /do not fill|don't fill|if you are (a )?human/,
        ]
            .map((r) => r.source)
            .join("|"),
        "i",
    );

    return (el: DomControl, boundary: DomElement, formKey: number): FieldInfo => {
        const tag = el.tagName.toLowerCase() as "input" | "select" | "textarea";
        const type = tag === "input" ? (el.type || "text").toLowerCase() : tag;
        const checkable = type === "checkbox" || type === "radio";
        const labels = Array.from(el.labels ?? []);
        let own = labels
            .map((l) => textOf(l))
            .filter((t) => t)
            .join(" ");
        const labelledBy = el.getAttribute("aria-labelledby");
        if (labelledBy) {
            const t = labelledBy
                .split(/\s+/)
                .map((id) => textOf(document.getElementById(id)))
                .filter((x) => x)
                .join(" ");
            own = clean(`${own} ${t}`);
        }
        const cap = captionOf(el, boundary, labels);
        // A checkbox's own label is its option text; a text field's inline text is its label.
        const label = clean(own || (checkable ? "" : cap.inline));
        let groupLabel = cap.text;
        if (!checkable && !own && cap.inline && !cap.text) {
            groupLabel = "";
        }
        let groupNode: DomElement | null = cap.node;
        if (!groupNode && labels.length > 0) {
            groupNode = labels[0];
        }
        const groupKey = groupNode
            ? `g${idOf(groupNode, "data-ops-gid")}`
            : `f${formKey}-${el.getAttribute("name") ?? ""}`;
        const visible = checkable ? isVisible(el) || labels.some((l) => isVisible(l)) : isVisible(el);
        const hints: string[] = [];
        if (!visible) {
            hints.push("invisible");
        }
        if (el.closest("[aria-hidden=true]")) {
            hints.push("aria-hidden");
        }
        const ident = `${el.getAttribute("name") ?? ""} ${el.id} ${el.className}`;
        if (HONEYPOT_NAME.test(ident)) {
            hints.push("name");
        }
        if (HONEYPOT_LABEL.test(`${label} ${groupLabel} ${el.getAttribute("placeholder") ?? ""}`)) {
            hints.push("label");
        }
        const options =
            tag === "select"
                ? Array.from(el.options ?? []).map((o) => ({
                      value: o.value,
                      text: clean(o.text),
                      disabled: o.disabled,
                  }))
                : [];
        const maxAttr = el.getAttribute("maxlength");
        const readOnly = el.readOnly === true;
        return {
            fid: idOf(el, "data-ops-fid"),
            tag,
            type,
            name: el.getAttribute("name") ?? "",
            id: el.id,
            className: typeof el.className === "string" ? el.className : "",
            placeholder: el.getAttribute("placeholder") ?? "",
            autocomplete: (el.getAttribute("autocomplete") ?? "").toLowerCase(),
            ariaLabel: el.getAttribute("aria-label") ?? "",
            title: el.getAttribute("title") ?? "",
            label,
            groupLabel,
            groupKey,
            trailingText: trailingOf(el),
            required: el.required || el.getAttribute("aria-required") === "true",
            maxLength: maxAttr !== null && /^\d+$/.test(maxAttr) ? Number(maxAttr) : null,
            pattern: el.getAttribute("pattern") ?? "",
            inputMode: el.getAttribute("inputmode") ?? "",
            visible,
            editable: !el.disabled && !readOnly,
            value: el.value ?? "",
            checked: checkable ? el.checked : false,
            options,
            honeypotHints: hints,
        };
    };
}
