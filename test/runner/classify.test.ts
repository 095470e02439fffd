/** Field mapping rules, table-driven over scanner-shaped fields (no browser). */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    chooseOption,
    classifyTextField,
    leastCommittal,
    NO_FITTING_OPTION,
    toFullWidth,
    toHalfWidth,
    fitToMaxLength,
    identTokens,
    planForm,
    wantsDigitsOnly,
} from "../../containers/runner/src/classify";
import {
    buildProfile,
    splitPhone,
    katakanaToHiragana,
    type ClientConfigLike,
} from "../../containers/runner/src/profile";
import type { FieldInfo, FormInfo } from "../../containers/runner/src/types";
import { FIXTURE_ROOT } from "./fixtureServer";

const profile = buildProfile(
    JSON.parse(fs.readFileSync(path.join(FIXTURE_ROOT, "client_config.json"), "utf8")) as ClientConfigLike,
);

let nextFid = 1;
function field(over: Partial<FieldInfo>): FieldInfo {
    return {
        fid: nextFid++,
        tag: "input",
        type: "text",
        name: "",
        id: "",
        className: "",
        placeholder: "",
        autocomplete: "",
        ariaLabel: "",
        title: "",
        label: "",
        groupLabel: "",
        groupKey: `k${nextFid}`,
        trailingText: "",
        required: false,
        maxLength: null,
        pattern: "",
        inputMode: "",
        visible: true,
        editable: true,
        value: "",
        checked: false,
        options: [],
        honeypotHints: [],
        ...over,
    };
}

function form(fields: FieldInfo[]): FormInfo {
    return {
        formId: 1,
        pseudo: false,
        action: "/contact",
        method: "post",
        attrs: "",
        role: "",
        text: "",
        heading: "",
        noValidate: false,
        fields,
        buttons: [],
    };
}

function filled(fields: FieldInfo[], lang = "ja"): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of planForm(form(fields), profile, lang)) {
        if (p.action.kind === "fill" || p.action.kind === "select") out[p.field.name] = p.action.value;
        if (p.action.kind === "check") out[p.field.name] = "checked";
    }
    return out;
}

describe("runner field mapping", () => {
    const single: Array<[string, Partial<FieldInfo>, string]> = [
        ["会社名 label", { label: "会社名" }, "company"],
        ["御社名 caption", { groupLabel: "御社名" }, "company"],
        ["company_name ident", { name: "company_name" }, "company"],
        ["会社名（フリガナ）", { label: "会社名（フリガナ）" }, "company_kana"],
        ["部署名", { label: "部署名" }, "department"],
        ["役職", { label: "役職" }, "position"],
        ["Job Title", { label: "Job Title" }, "position"],
        ["お名前", { label: "お名前" }, "name"],
        ["ご担当者名", { groupLabel: "ご担当者名" }, "name"],
        ["フリガナ", { label: "フリガナ" }, "name_kana"],
        ["お名前（ふりがな）", { label: "お名前（ふりがな）" }, "name_kana"],
        ["メールアドレス", { label: "メールアドレス" }, "email"],
        ["type=email", { type: "email" }, "email"],
        ["メールアドレス（確認用）", { label: "メールアドレス（確認用）" }, "email_confirm"],
        ["email_confirm ident", { name: "email_confirm" }, "email_confirm"],
        ["電話番号", { label: "電話番号" }, "phone"],
        ["FAX番号 is not a phone", { label: "FAX番号" }, "fax"],
        ["TEL full-width", { label: "ＴＥＬ" }, "phone"],
        ["郵便番号", { label: "郵便番号" }, "postal"],
        ["〒", { label: "〒" }, "postal"],
        ["zip ident", { name: "zip" }, "postal"],
        ["都道府県 text", { label: "都道府県" }, "prefecture"],
        ["市区町村", { label: "市区町村" }, "city"],
        ["ご住所", { label: "ご住所" }, "address"],
        ["番地・建物名 is the street", { label: "番地・建物名" }, "address"],
        ["建物名", { label: "建物名" }, "building"],
        ["会社URL is a URL, not the company", { label: "会社URL" }, "url"],
        ["ホームページ", { label: "ホームページ" }, "url"],
        ["hp ident is the homepage", { name: "hp" }, "url"],
        ["件名", { label: "件名" }, "subject"],
        ["ご用件 text", { label: "ご用件" }, "subject"],
        ["textarea defaults to message", { tag: "textarea", type: "textarea" }, "message"],
        ["お問い合わせ内容", { tag: "textarea", type: "textarea", label: "お問い合わせ内容" }, "message"],
        ["placeholder e-mail sample", { placeholder: "例）info@example.com" }, "email"],
        ["placeholder phone sample", { placeholder: "03-0000-0000" }, "phone"],
        ["placeholder katakana sample", { placeholder: "ヤマダ" }, "name_kana"],
        ["aria-label only", { ariaLabel: "お名前" }, "name"],
        ["autocomplete organization", { autocomplete: "organization" }, "company"],
        ["search box", { type: "search", name: "q" }, "search"],
        ["password", { type: "password", name: "pw" }, "password"],
        ["honeypot hint wins", { label: "お名前", honeypotHints: ["invisible"] }, "honeypot"],
    ];
    for (const [title, over, kind] of single) {
        it(`classifies ${title} as ${kind}`, () => {
            assert.strictEqual(classifyTextField(field(over)).kind, kind);
        });
    }

    it("splits 姓/名 in one row by their inline labels, and readings by セイ/メイ", () => {
        const f = [
            field({ name: "a", label: "姓", groupLabel: "お名前", groupKey: "r1" }),
            field({ name: "b", label: "名", groupLabel: "お名前", groupKey: "r1" }),
            field({ name: "c", label: "セイ", groupLabel: "フリガナ", groupKey: "r2" }),
            field({ name: "d", label: "メイ", groupLabel: "フリガナ", groupKey: "r2" }),
        ];
        assert.deepStrictEqual(filled(f), { a: "山田", b: "太郎", c: "ヤマダ", d: "タロウ" });
    });

    it("splits two unlabeled name inputs in Japanese order, or first/last on English forms", () => {
        const mk = () => [
            field({ name: "n1", groupLabel: "お名前", groupKey: "r" }),
            field({ name: "n2", groupLabel: "お名前", groupKey: "r" }),
        ];
        assert.deepStrictEqual(filled(mk()), { n1: "山田", n2: "太郎" });
        const en = [
            field({ name: "n1", groupLabel: "Name", groupKey: "r" }),
            field({ name: "n2", groupLabel: "Name", groupKey: "r" }),
        ];
        assert.deepStrictEqual(filled(en, "en"), { n1: "Taro", n2: "Yamada" });
    });

    it("fills three phone inputs and two postal inputs part by part", () => {
        const f = [
            ...["tel1", "tel2", "tel3"].map((n) => field({ name: n, groupLabel: "電話番号", groupKey: "p" })),
            ...["zip1", "zip2"].map((n) => field({ name: n, groupLabel: "郵便番号", groupKey: "z" })),
        ];
        assert.deepStrictEqual(filled(f), { tel1: "03", tel2: "1234", tel3: "5678", zip1: "100", zip2: "0005" });
    });

    it("writes hiragana readings when the label asks for ふりがな", () => {
        assert.deepStrictEqual(filled([field({ name: "f", label: "ふりがな" })]), { f: "やまだ たろう" });
    });

    it("treats a 確認 field right after the e-mail as its confirmation", () => {
        assert.deepStrictEqual(
            filled([field({ name: "m", type: "email", label: "メール" }), field({ name: "m2", label: "確認用" })]),
            { m: "t.yamada@example.com", m2: "t.yamada@example.com" },
        );
    });

    it("puts prefecture and city into a lone address field, only the street when they have fields", () => {
        assert.deepStrictEqual(filled([field({ name: "addr", label: "住所" })]), { addr: "東京都千代田区丸の内1-1-1" });
        assert.deepStrictEqual(
            filled([field({ name: "city", label: "市区町村" }), field({ name: "addr", label: "住所" })]),
            { city: "東京都千代田区", addr: "丸の内1-1-1" },
        );
        const pref = field({
            tag: "select",
            type: "select",
            name: "pref",
            label: "都道府県",
            options: [
                ["1", "北海道"],
                ["13", "東京都"],
                ["27", "大阪府"],
            ].map(([value, text]) => ({ value, text, disabled: false })),
        });
        assert.deepStrictEqual(
            filled([pref, field({ name: "city", label: "市区町村" }), field({ name: "addr", label: "番地" })]),
            { pref: "13", city: "千代田区", addr: "丸の内1-1-1" },
        );
    });

    it("never fills honeypots, invisible fields, read-only fields, FAX or unknown questions", () => {
        const f = [
            field({ name: "hp_trap", label: "お名前", honeypotHints: ["name"] }),
            field({ name: "n", label: "お名前", visible: false }),
            field({ name: "r", label: "会社名", editable: false }),
            field({ name: "fax", label: "FAX" }),
            field({ name: "budget", label: "ご予算", required: true }),
        ];
        assert.deepStrictEqual(filled(f), {});
    });

    it("chooses proposal over other over unrelated options; nothing when only unfitting options remain", () => {
        assert.strictEqual(
            chooseOption([{ text: "製品について" }, { text: "その他" }, { text: "営業・ご提案" }], false)?.text,
            "営業・ご提案",
        );
        assert.strictEqual(chooseOption([{ text: "製品について" }, { text: "その他" }], false)?.text, "その他");
        assert.strictEqual(chooseOption([{ text: "採用" }, { text: "見積" }], false), null);
        // Issue 16: filing a sales message under recruiting or quotes sends it to the wrong reader; the
        // runner reports the form as undecided instead of picking the last option as it used to.
        assert.strictEqual(chooseOption([{ text: "採用" }, { text: "見積" }], true), null);
        assert.strictEqual(
            chooseOption([{ text: "お取引について" }, { text: "営業・ご提案" }, { text: "その他" }], true)?.text,
            "営業・ご提案",
        );
        assert.strictEqual(chooseOption([{ text: "お取引について" }, { text: "その他" }], true)?.text, "その他");
    });

    it("selects prefecture options by code, short name or English name", () => {
        const opts = (pairs: Array<[string, string]>) =>
            pairs.map(([value, text]) => ({ value, text, disabled: false }));
        const sel = (options: ReturnType<typeof opts>) =>
            filled([field({ tag: "select", type: "select", name: "p", label: "都道府県", options })]).p;
        assert.strictEqual(
            sel(
                opts([
                    ["", "選択"],
                    ["1", "北海道"],
                    ["13", "東京都"],
                    ["27", "大阪府"],
                ]),
            ),
            "13",
        );
        assert.strictEqual(
            sel(
                opts([
                    ["hokkaido", "北海道"],
                    ["tokyo", "東京"],
                    ["osaka", "大阪"],
                ]),
            ),
            "tokyo",
        );
        assert.strictEqual(
            sel(
                opts([
                    ["", "--"],
                    ["HK", "Hokkaido"],
                    ["TK", "Tokyo"],
                    ["OS", "Osaka"],
                ]),
            ),
            "TK",
        );
    });

    it("checks consent boxes, leaves newsletter opt-ins alone, checks only required unknown boxes", () => {
        const f = [
            field({ type: "checkbox", name: "agree", label: "個人情報の取り扱いに同意する" }),
            field({ type: "checkbox", name: "news", label: "メールマガジンを受け取る", required: true }),
            field({ type: "checkbox", name: "misc", label: "資料を郵送希望" }),
            field({ type: "checkbox", name: "must", label: "確認しました", required: true }),
        ];
        assert.deepStrictEqual(filled(f), { agree: "checked", must: "checked" });
    });

    it("picks one radio of an inquiry-type group and leaves optional unrelated groups alone", () => {
        const radios = ["製品", "営業のご案内", "その他"].map((t) =>
            field({ type: "radio", name: "kind", label: t, value: t, groupLabel: "お問い合わせ種別", groupKey: "g" }),
        );
        const gender = ["男性", "女性"].map((t) =>
            field({ type: "radio", name: "sex", label: t, value: t, groupLabel: "性別", groupKey: "s" }),
        );
        const plans = planForm(form([...radios, ...gender]), profile, "ja");
        assert.deepStrictEqual(
            plans.filter((p) => p.action.kind === "check").map((p) => p.field.label),
            ["営業のご案内"],
        );
    });

    it("answers a required question the profile cannot by e-mail or その他, never by a call or a visit", () => {
        const t = (xs: string[]) => leastCommittal(xs.map((text) => ({ text })))?.text;
        assert.strictEqual(t(["電話", "ご訪問", "メール"]), "メール");
        assert.strictEqual(t(["電話", "その他"]), "その他");
        assert.strictEqual(t(["採用について", "A社", "B社"]), "A社");
        const reply = ["電話", "メール"].map((v) =>
            field({ type: "radio", name: "reply", label: v, value: v, required: true, groupLabel: "ご希望の連絡方法" }),
        );
        assert.deepStrictEqual(
            planForm(form(reply), profile, "ja")
                .filter((p) => p.action.kind === "check")
                .map((p) => p.field.label),
            ["メール"],
        );
    });

    it("marks a required inquiry type with no option for a sales message as unanswerable", () => {
        const kind = field({
            tag: "select",
            type: "select",
            name: "kind",
            label: "お問い合わせ種別",
            required: true,
            options: ["", "採用について", "製品サポート", "IR・株式について"].map((t) => ({
                value: t,
                text: t || "選択してください",
                disabled: false,
            })),
        });
        const plan = planForm(form([kind]), profile, "ja")[0];
        assert.deepStrictEqual(plan.action, { kind: "skip", reason: NO_FITTING_OPTION });
    });

    it("chooses Japan in a country select and writes 全角/半角 where a field demands it", () => {
        const country = field({
            tag: "select",
            type: "select",
            name: "country",
            label: "国・地域",
            options: ["", "Afghanistan", "Australia", "China", "Japan", "United States"].map((t) => ({
                value: t.slice(0, 2).toUpperCase(),
                text: t || "--",
                disabled: false,
            })),
        });
        const tel = field({ name: "tel", label: "電話番号（全角で入力してください）" });
        const zip = field({ name: "zip", label: "郵便番号（半角）" });
        assert.deepStrictEqual(filled([country, tel, zip]), {
            country: "JA",
            tel: "０３－１２３４－５６７８",
            zip: "100-0005",
        });
        assert.strictEqual(toFullWidth("Ab 1-2"), "Ａｂ　１－２");
        assert.strictEqual(toHalfWidth("０３－１２"), "03-12");
    });

    it("respects maxlength in UTF-16 units without splitting a character", () => {
        assert.strictEqual(fitToMaxLength("あいうえお", 3), "あいう");
        assert.strictEqual(fitToMaxLength("a𠮷b", 2), "a");
        assert.strictEqual(fitToMaxLength("abc", null), "abc");
        assert.deepStrictEqual(filled([field({ tag: "textarea", type: "textarea", name: "m", maxLength: 10 })]), {
            m: profile.body.slice(0, 10),
        });
    });

    it("drops phone hyphens when maxlength, pattern, placeholder or a note asks for digits", () => {
        const hy = "03-1234-5678";
        assert.strictEqual(wantsDigitsOnly(field({ maxLength: 11 }), hy), true);
        assert.strictEqual(wantsDigitsOnly(field({ pattern: "\\d{10,11}" }), hy), true);
        assert.strictEqual(wantsDigitsOnly(field({ placeholder: "0312345678" }), hy), true);
        assert.strictEqual(wantsDigitsOnly(field({ trailingText: "※ハイフンなし" }), hy), true);
        assert.strictEqual(wantsDigitsOnly(field({ placeholder: "03-1234-5678" }), hy), false);
        assert.strictEqual(wantsDigitsOnly(field({}), hy), false);
    });

    it("derives readings and phone parts from the config", () => {
        assert.strictEqual(katakanaToHiragana("カブシキガイシャ"), "かぶしきがいしゃ");
        assert.deepStrictEqual(splitPhone("09012345678"), ["090", "1234", "5678"]);
        assert.deepStrictEqual(splitPhone("0612345678"), ["06", "1234", "5678"]);
        assert.deepStrictEqual(splitPhone("045-123-4567"), ["045", "123", "4567"]);
        assert.strictEqual(identTokens("lastNameKana[0]"), "last name kana 0");
    });
});
