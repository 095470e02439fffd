/** Refusal wording, contact links, form choice, buttons and outcome reading (no browser). */
import * as assert from "assert";
import {
    buttonRole,
    findRefusal,
    isContactCandidate,
    judgeOutcome,
    looksLikeConfirmationPage,
    newLines,
    rankContactLinks,
} from "../../containers/runner/src/detect";
import type { FieldInfo, FormInfo } from "../../containers/runner/src/types";

describe("runner page judgements", () => {
    const refusals: string[] = [
        "※営業目的のお問い合わせはご遠慮ください。",
        "営業・勧誘を目的としたご連絡は一切受け付けておりません。",
        "セールスのお電話・メールはお断りしております",
        "弊社へのご提案はお断りしております",
        "営業メールはお控えください",
        "売り込みお断り",
        "営業のご連絡には返信いたしません。",
        "We do not accept sales solicitations through this form.",
        "No solicitation, please.",
        "Sales pitches will not be answered.",
    ];
    for (const text of refusals) {
        it(`treats 「${text}」 as a refusal of sales contact`, () => assert.ok(findRefusal(text), text));
    }
    const notRefusals: string[] = [
        "営業時間 9:00〜18:00（土日祝はお休み）",
        "営業日カレンダー",
        "営業部　〒100-0001",
        "弊社の営業担当よりご連絡いたします。",
        "Our sales team will contact you shortly.",
        "お問い合わせはお気軽にどうぞ",
    ];
    for (const text of notRefusals) {
        it(`does not treat 「${text}」 as a refusal`, () => assert.strictEqual(findRefusal(text), null));
    }

    it("ranks contact links by text and path, dropping recruiting, privacy and off-site links", () => {
        const links = [
            { text: "採用のお問い合わせ", href: "https://a.example.jp/recruit/contact" },
            { text: "プライバシーポリシー", href: "https://a.example.jp/privacy" },
            { text: "CONTACT", href: "https://other.example.com/contact" },
            { text: "お問い合わせ", href: "https://a.example.jp/contact/" },
            { text: "ご相談はこちら", href: "https://a.example.jp/soudan" },
        ];
        assert.deepStrictEqual(
            rankContactLinks(links, "https://www.a.example.jp/", new Set()).map((l) => l.href),
            ["https://a.example.jp/contact/", "https://other.example.com/contact", "https://a.example.jp/soudan"],
        );
        assert.deepStrictEqual(
            rankContactLinks(links, "https://a.example.jp/", new Set(["https://a.example.jp/contact/"])).map(
                (l) => l.href,
            )[0],
            "https://other.example.com/contact",
        );
    });

    const f = (over: Partial<FieldInfo>): FieldInfo => ({
        fid: 1,
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
        groupKey: "",
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
    });
    const form = (fields: FieldInfo[], over: Partial<FormInfo> = {}): FormInfo => ({
        formId: 1,
        pseudo: false,
        action: "/x",
        method: "post",
        attrs: "",
        role: "",
        text: "",
        heading: "",
        noValidate: false,
        fields,
        buttons: [],
        ...over,
    });

    it("accepts a contact form and rejects search, newsletter and login forms", () => {
        const contact = form([
            f({ name: "name" }),
            f({ type: "email", name: "email" }),
            f({ tag: "textarea", type: "textarea", name: "body" }),
        ]);
        assert.ok(isContactCandidate(contact));
        assert.ok(!isContactCandidate(form([f({ type: "search", name: "s" })], { role: "search" })));
        assert.ok(
            !isContactCandidate(
                form([f({ type: "email", name: "nl" })], {
                    heading: "ニュースレター",
                    text: "最新情報をお届けします 登録する",
                }),
            ),
        );
        assert.ok(
            !isContactCandidate(
                form([
                    f({ name: "user" }),
                    f({ type: "password", name: "pw" }),
                    f({ name: "x" }),
                    f({ tag: "textarea", type: "textarea" }),
                ]),
            ),
        );
        // A message area named q is still a contact form, and "research" in the action is no search.
        assert.ok(
            isContactCandidate(
                form([f({ name: "n" }), f({ type: "email" }), f({ tag: "textarea", type: "textarea", name: "q" })], {
                    action: "/research/contact",
                }),
            ),
        );
    });

    it("tells confirm-step buttons from send buttons and excludes reset/back/search", () => {
        const b = (text: string, type = "submit") => buttonRole({ bid: 1, text, type, tag: "button", visible: true });
        assert.strictEqual(b("確認画面へ"), "confirm");
        assert.strictEqual(b("入力内容を確認する"), "confirm");
        assert.strictEqual(b("送信する"), "send");
        assert.strictEqual(b("この内容で送信する"), "send");
        assert.strictEqual(b("Send Message"), "send");
        assert.strictEqual(b("戻る", "button"), "excluded");
        assert.strictEqual(b("リセット", "reset"), "excluded");
        assert.strictEqual(b("住所検索", "button"), "excluded");
    });

    it("reads success, errors and confirmation steps from the text that appeared", () => {
        assert.deepStrictEqual(newLines("a\nb\n", "a\nb\nc\n"), ["c"]);
        assert.strictEqual(judgeOutcome(["送信が完了しました。"]).kind, "success");
        assert.strictEqual(judgeOutcome(["Thank you for contacting us."]).kind, "success");
        assert.strictEqual(judgeOutcome(["メールアドレスを入力してください"]).kind, "error");
        assert.strictEqual(judgeOutcome(["ありがとうございます。", "電話番号の形式が正しくありません"]).kind, "error");
        assert.strictEqual(judgeOutcome(["お問い合わせフォーム"]).kind, "none");
        assert.ok(looksLikeConfirmationPage("以下の内容で送信します。よろしければ送信ボタンを押してください"));
        assert.ok(!looksLikeConfirmationPage("送信が完了しました"));
    });
});
