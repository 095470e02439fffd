/**
 * Scanner part: every <form> of the document, plus one pseudo-form for controls and buttons that
 * sit outside any form (script-submitted pages). Runs inside the page (see ../scan.ts): uses only
 * its parameters and browser globals.
 */
import type { DomControl, DomDocument, DomElement, DomForm, DomNodeConstants } from "../dom";
import type { FormInfo } from "../types";
import type { ButtonDescriber } from "./buttons";
import type { Deep } from "./deep";
import type { FieldDescriber } from "./fields";
import type { IdAllocator } from "./ids";
import type { Layout } from "./layout";
import type { TextReader } from "./text";

declare const document: DomDocument;
declare const Node: DomNodeConstants;
declare const CSS: { escape(value: string): string };

export interface FormTools {
    readonly ids: IdAllocator;
    readonly reader: TextReader;
    readonly layout: Layout;
    readonly describeField: FieldDescriber;
    readonly buttons: ButtonDescriber;
    readonly deep: Deep;
}

export function collectForms(tools: FormTools): FormInfo[] {
    /**
     * Checkboxes and radios of one form that share a name are one question (HTML: a radio group is its name; a
     * checkbox group posts one `name[]` list), even when only the first of them has a caption before it (Contact
     * Form 7 prints "ご用件（必須）<br>" and then the list, contact-form-7 modules/checkbox.php): every choice gets the
     * group key and caption the first one found, and the group is required when any choice is.
     */
    const sameNameChoices = (fields: FormInfo["fields"]): FormInfo["fields"] => {
        const keyOf = (f: FormInfo["fields"][number]) =>
            /^(checkbox|radio)$/.test(f.type) && f.name ? `${f.type} ${f.name}` : "";
        const first = new Map<string, FormInfo["fields"][number]>();
        const required = new Set<string>();
        for (const f of fields) {
            const k = keyOf(f);
            if (!k) continue;
            if (!first.get(k)?.groupLabel && (f.groupLabel || !first.has(k))) first.set(k, f);
            if (f.required) required.add(k);
        }
        return fields.map((f) => {
            const k = keyOf(f);
            const head = k ? first.get(k) : undefined;
            if (!head) return f;
            return {
                ...f,
                groupKey: head.groupKey,
                groupLabel: f.groupLabel || head.groupLabel,
                required: required.has(k),
            };
        });
    };

    const doc = document;
    const { idOf } = tools.ids;
    const { textOf } = tools.reader;
    const { CONTROL_SELECTOR, isVisible } = tools.layout;
    const { describeField } = tools;
    const { BUTTON_SELECTOR, describeButton } = tools.buttons;
    const { deep } = tools;
    // ARIA choices and select-only comboboxes on divs/buttons: fields, never buttons (see ./fields.ts).
    const ARIA_CHOICE = [
        "[role=radio]:not(input)",
        "[role=checkbox]:not(input)",
        "[role=switch]:not(input)",
        "[role=combobox]:not(input):not(select)",
        "[aria-haspopup=listbox]:not(input):not(select)",
    ].join(", ");
    const notAField = (b: DomElement) => !b.matches(ARIA_CHOICE);
    /** The element of the main document that holds `el` (its outermost shadow host, or itself). */
    const anchorOf = (el: DomElement): DomElement => {
        let cur = el;
        for (;;) {
            const top = cur.getRootNode() as { host?: DomElement };
            if (!top.host) return cur;
            cur = top.host;
        }
    };
    /** `el` sits in some <form>, through shadow boundaries. */
    const inAnyForm = (el: DomElement): boolean => (el as DomControl).form != null || deep.closest(el, "form") !== null;

    /** Text of the last heading before `el` (or the first one inside it). */
    const headingBefore = (formEl: DomElement): string => {
        const el = anchorOf(formEl);
        const all = Array.from(doc.querySelectorAll("h1,h2,h3,h4,legend,.title,.heading"));
        let found = "";
        for (const h of all) {
            if (h.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING || el.contains(h)) {
                if (!el.contains(h) || !found) {
                    found = textOf(h, 80);
                }
            }
        }
        return found;
    };

    const forms: FormInfo[] = [];
    for (const form of deep.all("form") as DomForm[]) {
        const formId = idOf(form, "data-ops-form");
        const own = Array.from(form.elements).filter((e) => e.matches(CONTROL_SELECTOR));
        // Controls inside web components of the form (each in its own shadow root) are not its
        // elements, but they are what a person fills in it.
        const nested = deep.all(CONTROL_SELECTOR, form).filter((e) => !own.includes(e) && !form.contains(e));
        const aria = deep.all(ARIA_CHOICE, form);
        const controls = [...own, ...nested, ...aria] as Array<DomControl>;
        const fields = sameNameChoices(controls.map((c) => describeField(c, form, formId)));
        const buttonEls = deep.all(BUTTON_SELECTOR, form).filter(notAField);
        if (form.id) {
            buttonEls.push(
                ...Array.from(doc.querySelectorAll(`[form="${CSS.escape(form.id)}"]`)).filter((b) =>
                    b.matches(BUTTON_SELECTOR),
                ),
            );
        }
        forms.push({
            formId,
            pseudo: false,
            action: form.getAttribute("action") ?? "",
            method: (form.getAttribute("method") ?? "get").toLowerCase(),
            attrs: `${form.id} ${form.className} ${form.getAttribute("name") ?? ""}`,
            role: form.getAttribute("role") ?? "",
            text: textOf(form, 2000),
            heading: headingBefore(form),
            noValidate: form.noValidate,
            fields,
            buttons: buttonEls.map(describeButton),
        });
    }
    // Some sites build the form without a <form> element (JS-submitted): group the loose
    // controls of the document into one pseudo-form.
    const loose = [...deep.all(CONTROL_SELECTOR), ...deep.all(ARIA_CHOICE)].filter(
        (c) => !inAnyForm(c),
    ) as Array<DomControl>;
    // Buttons outside any form matter too: single-page confirmation steps put 送信する there.
    const looseButtons = deep.all(BUTTON_SELECTOR).filter((b) => !inAnyForm(b) && notAField(b));
    const body = doc.body;
    if (body && (loose.filter((c) => isVisible(c)).length >= 2 || looseButtons.some((b) => isVisible(b)))) {
        const formId = idOf(body, "data-ops-form");
        forms.push({
            formId,
            pseudo: true,
            action: "",
            method: "post",
            attrs: "",
            role: "",
            text: textOf(body, 2000),
            heading: "",
            noValidate: true,
            fields: sameNameChoices(loose.map((c) => describeField(c, body, formId))),
            buttons: looseButtons.map(describeButton),
        });
    }
    return forms;
}
