/**
 * Scanner part: one input/select/textarea as a `FieldInfo`, with its labels, the caption of its
 * row and the hints that it is a bot trap. Runs inside the page (see ../scan.ts): uses only its
 * parameters and browser globals.
 */
import type { DomControl, DomDocument, DomElement, DomNode } from "../dom";
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

    // ARIA radios, checkboxes and switches built from divs (script-driven forms, Google Forms).
    const ARIA_CHOICE = "[role=radio]:not(input), [role=checkbox]:not(input), [role=switch]:not(input)";
    // Select-only comboboxes: a div/button that pops up a listbox of role=option elements
    // (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/examples/combobox-select-only/, MUI Select, Radix).
    const ARIA_COMBO = "[role=combobox]:not(input):not(select), [aria-haspopup=listbox]:not(input):not(select)";
    /**
     * A combobox's options: the role=option elements of the listbox it controls (aria-controls, or aria-owns
     * in ARIA 1.1), or, for a listbox rendered only while open, those fill.ts noted on it when it opened it.
     */
    const comboOptions = (el: DomElement): FieldInfo["options"] => {
        const ids = `${el.getAttribute("aria-controls") ?? ""} ${el.getAttribute("aria-owns") ?? ""}`
            .split(/\s+/)
            .filter((x) => x);
        const found: DomElement[] = [];
        for (const id of ids) {
            const target = document.getElementById(id);
            if (target) {
                found.push(
                    ...(target.matches("[role=option]")
                        ? [target]
                        : Array.from(target.querySelectorAll("[role=option]"))),
                );
            }
        }
        if (found.length > 0) {
            return found.map((o) => {
                const text = clean((o as DomElement & { textContent: string | null }).textContent ?? "");
                return {
                    value: o.getAttribute("data-value") ?? text,
                    text,
                    disabled: o.getAttribute("aria-disabled") === "true",
                };
            });
        }
        try {
            return JSON.parse(el.getAttribute("data-ops-options") ?? "[]") as FieldInfo["options"];
        } catch {
            return [];
        }
    };
    const labelledByText = (el: DomElement | null): string => {
        const ids = el?.getAttribute("aria-labelledby");
        if (!el || !ids) return "";
        const root = el.getRootNode() as DomNode & { getElementById?: (id: string) => DomElement | null };
        const byId = (id: string) => (root.getElementById ? root.getElementById(id) : document.getElementById(id));
        return clean(
            ids
                .split(/\s+/)
                .map((id) => textOf(byId(id)))
                .join(" "),
        );
    };
    /**
     * An ARIA choice as a radio/checkbox field: a radio's name is its radiogroup (so the planner picks
     * one per group), its option text is its own text, its question the group's label.
     */
    const describeAria = (
        el: DomControl,
        boundary: DomElement,
        own: string,
        caption: string,
        visible: boolean,
        hints: string[],
    ): FieldInfo => {
        const role = el.getAttribute("role") ?? "";
        const group = role === "radio" ? (el.closest("[role=radiogroup]") ?? el.parentElement) : null;
        const question = group
            ? labelledByText(group) ||
              clean(group.getAttribute("aria-label") ?? "") ||
              captionOf(group, boundary, []).text
            : caption;
        const fid = idOf(el, "data-ops-fid");
        const gid = group ? idOf(group, "data-ops-gid") : fid;
        const text = clean(textOf(el, 120) || el.getAttribute("aria-label") || own);
        return {
            fid,
            tag: "input",
            type: role === "radio" ? "radio" : "checkbox",
            name: group ? `aria-radiogroup-${gid}` : (el.getAttribute("name") ?? (el.id || `aria-${fid}`)),
            id: el.id,
            className: typeof el.className === "string" ? el.className : "",
            placeholder: "",
            autocomplete: "",
            ariaLabel: el.getAttribute("aria-label") ?? "",
            title: el.getAttribute("title") ?? "",
            label: text,
            groupLabel: question,
            groupKey: `g${gid}`,
            trailingText: "",
            required: el.getAttribute("aria-required") === "true" || group?.getAttribute("aria-required") === "true",
            maxLength: null,
            pattern: "",
            inputMode: "",
            visible,
            editable: el.getAttribute("aria-disabled") !== "true",
            value: el.getAttribute("data-value") ?? text,
            checked: el.getAttribute("aria-checked") === "true",
            options: [],
            honeypotHints: hints.filter((h) => h !== "label"),
            ariaRole: role,
        };
    };

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
        if (el.matches(ARIA_CHOICE)) {
            return describeAria(el, boundary, label, groupLabel, visible, hints);
        }
        // An editable combobox (input role=combobox) is typed into and its option picked (fill.ts typeAndPick); it
        // is described as a select only once fill.ts has opened its list and noted the options (data-ops-options),
        // which it does only for a question that asks for a choice. Otherwise it is a text field.
        const comboInput = tag === "input" && el.getAttribute("role") === "combobox";
        if (el.matches(ARIA_COMBO) || (comboInput && el.getAttribute("data-ops-options") !== null)) {
            // Chosen from its list by clicks (fill.ts), never typed into; its own text is its current value.
            const fid = idOf(el, "data-ops-fid");
            return {
                fid,
                tag: "select",
                type: "select",
                name: el.getAttribute("name") ?? (el.id || `aria-combobox-${fid}`),
                id: el.id,
                className: typeof el.className === "string" ? el.className : "",
                placeholder: "",
                autocomplete: "",
                ariaLabel: el.getAttribute("aria-label") ?? "",
                title: el.getAttribute("title") ?? "",
                label: clean(own || el.getAttribute("aria-label") || ""),
                groupLabel: cap.text,
                groupKey,
                trailingText: "",
                required: el.getAttribute("aria-required") === "true" || (comboInput && el.required === true),
                maxLength: null,
                pattern: "",
                inputMode: "",
                visible,
                editable: el.getAttribute("aria-disabled") !== "true" && !el.matches(":disabled"),
                value: comboInput ? (el.value ?? "") : clean(textOf(el, 120)),
                checked: false,
                options: comboOptions(el),
                honeypotHints: hints.filter((h) => h !== "label"),
                ariaRole: "combobox",
                ...(comboInput ? { comboInput: true } : {}),
            };
        }
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
            // Contact Form 7 marks a required checkbox/radio list only on its wrapper (contact-form-7
            // modules/checkbox.php: `wpcf7-validates-as-required`); none of its inputs has `required`.
            required:
                el.required ||
                el.getAttribute("aria-required") === "true" ||
                (checkable && el.closest(".wpcf7-validates-as-required") !== null),
            maxLength: maxAttr !== null && /^\d+$/.test(maxAttr) ? Number(maxAttr) : null,
            pattern: el.getAttribute("pattern") ?? "",
            inputMode: el.getAttribute("inputmode") ?? "",
            visible,
            // :disabled also holds for controls of a disabled <fieldset>, whose own .disabled stays false.
            editable: !el.disabled && !el.matches(":disabled") && !readOnly,
            value: el.value ?? "",
            checked: checkable ? el.checked : false,
            options,
            honeypotHints: hints,
            ...(comboInput ? { comboInput: true } : {}),
        };
    };
}
