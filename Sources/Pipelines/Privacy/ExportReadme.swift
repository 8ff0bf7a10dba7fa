import Foundation
import Reports

/// The README.txt of a subject's export, in English then Arabic: what the archive holds and,
/// per table, the Art. 15 facts from the data map (purpose, legal basis, recipients, retention,
/// source, categories), what was withheld and why, and the subject's rights.
struct ExportReadme {
    let map: DataMap
    let subject: UUID
    let requestID: Int64
    let generatedAt: Date
    let summary: SubjectExport.Summary
    let masked: Bool
    /// How to reach the data protection officer (SAMIA_DPO_CONTACT).
    let contact: String

    static let categoriesArabic: [String: String] = [
        "identifier": "معرّف", "contact.email": "البريد الإلكتروني", "contact.phone": "رقم الهاتف", "name": "الاسم",
        "birth_data": "بيانات الميلاد", "location": "الموقع والبلد", "payment_reference": "مرجع الدفع",
        "free_text": "نص حر كتبته أو كُتب لك", "audio_voice": "صوت وتسجيلات", "image": "صور", "document": "مستندات",
        "network": "بيانات الشبكة", "preferences": "التفضيلات", "account": "بيانات الحساب",
    ]

    static let factLabels: [(key: String, en: String, ar: String)] = [
        ("purpose", "Purpose", "الغرض"), ("legal_basis", "Legal basis", "الأساس القانوني"),
        ("recipients", "Recipients", "الجهات المتلقية"), ("retention", "Retention", "مدة الاحتفاظ"),
        ("source", "Source", "المصدر"),
    ]

    /// The README in English, then in Arabic, each whole on its own.
    var text: String { english + arabic }

    private var english: String {
        let stamp = ISO8601DateFormatter().string(from: generatedAt)
        let id = subject.uuidString.lowercased()
        let tables = map.tables.keys.sorted()
        var en = """
            YOUR PERSONAL DATA — EXPORT
            ===========================
            Request #\(requestID), subject \(id), generated \(stamp).

            This archive holds every record we keep about you, as of the time above, under the rights of
            access (GDPR Art. 15) and data portability (Art. 20). Each table is given twice: data/TABLE.csv
            (UTF-8, comma-separated, header row) and data/TABLE.json (an array of objects). Files you or your
            reader uploaded, your readings' audio and your invoices are under media/. manifest.json lists
            every file with its SHA-256 and is signed (manifest.sig, Ed25519) so you can check nothing was
            altered.

            WHAT IS INCLUDED

            """
        for table in tables {
            en += "- data/\(EntryName.sanitizedComponent(table)).csv and .json: \(summary.rows[table] ?? 0) row(s)\n"
        }
        en += "- media/: \(summary.mediaFiles) file(s), \(summary.mediaBytes) bytes\n\n"
        en += "WHY WE HOLD IT, WHO RECEIVES IT, HOW LONG WE KEEP IT\n\n"
        for table in tables {
            let entry = map.tables[table]!
            en += "\(table)\n"
            for label in Self.factLabels { if let value = entry.facts[label.key] { en += "  \(label.en): \(value)\n" } }
            let categories = Set(entry.personal.values).sorted()
            if !categories.isEmpty { en += "  Categories: \(categories.joined(separator: ", "))\n" }
            en += "\n"
        }
        en += "WHAT WAS WITHHELD, AND WHY\n\n"
        en += withheldLines(arabic: false)
        en += """

            YOUR RIGHTS

            You may ask us to correct inaccurate data (Art. 16), to erase it (Art. 17) — records we must keep by
            law, such as tax invoices, are kept for their legal period with what can be removed removed —, to
            restrict its use (Art. 18), to receive it in a portable form (Art. 20, this archive), and to object
            to processing based on our legitimate interests (Art. 21). Where we rely on your consent you may
            withdraw it at any time. To exercise these rights, contact: \(contact).
            You also have the right to lodge a complaint with a data protection supervisory authority, in
            particular where you live or work or where the alleged infringement took place (Art. 77).


            """
        return en
    }

    private var arabic: String {
        let stamp = ISO8601DateFormatter().string(from: generatedAt)
        let id = subject.uuidString.lowercased()
        let tables = map.tables.keys.sorted()
        var ar = """
            بياناتك الشخصية — نسخة للتصدير
            ===========================
            الطلب رقم \(requestID)، صاحب البيانات \(id)، أُنشئت في \(stamp).

            يضم هذا الأرشيف كل السجلات التي نحتفظ بها عنك حتى الوقت المذكور أعلاه، بموجب حق الاطلاع (المادة 15
            من اللائحة العامة لحماية البيانات) وحق نقل البيانات (المادة 20). يرد كل جدول مرتين: ملف data/TABLE.csv
            (ترميز UTF-8، مفصول بفواصل، مع صف عناوين) وملف data/TABLE.json (مصفوفة كائنات). الملفات التي رفعتها
            أنت أو قارئك، والتسجيلات الصوتية لقراءاتك، وفواتيرك موجودة في المجلد media/. يسرد الملف manifest.json
            كل ملف مع بصمة SHA-256 الخاصة به، وهو موقّع (manifest.sig، بخوارزمية Ed25519) لتتحقق من أن شيئًا لم يُغيَّر.

            ما يتضمنه الأرشيف

            """
        for table in tables {
            ar += "- data/\(EntryName.sanitizedComponent(table)).csv و .json: \(summary.rows[table] ?? 0) صف\n"
        }
        ar += "- media/: \(summary.mediaFiles) ملف، \(summary.mediaBytes) بايت\n\n"
        ar += "لماذا نحتفظ بها، ومن يتلقاها، وكم نحتفظ بها\n\n"
        for table in tables {
            let entry = map.tables[table]!
            ar += "\(table)\n"
            for label in Self.factLabels {
                if let value = entry.factsArabic[label.key] ?? entry.facts[label.key] {
                    ar += "  \(label.ar): \(value)\n"
                }
            }
            let categories = Set(entry.personal.values).sorted().map { Self.categoriesArabic[$0] ?? $0 }
            if !categories.isEmpty { ar += "  الفئات: \(categories.joined(separator: "، "))\n" }
            ar += "\n"
        }
        ar += "ما حُجب ولماذا\n\n"
        ar += withheldLines(arabic: true)
        ar += """

            حقوقك

            يحق لك أن تطلب منا تصحيح البيانات غير الدقيقة (المادة 16)، ومحوها (المادة 17) — أما السجلات التي
            يلزمنا القانون بحفظها، كالفواتير الضريبية، فتُحفظ طوال مدتها القانونية بعد إزالة ما يمكن إزالته —،
            وتقييد استخدامها (المادة 18)، واستلامها بصيغة قابلة للنقل (المادة 20، وهذا الأرشيف منها)، والاعتراض
            على المعالجة القائمة على مصالحنا المشروعة (المادة 21). وحيث نعتمد على موافقتك يمكنك سحبها في أي وقت.
            لممارسة هذه الحقوق تواصل مع: \(contact).
            ويحق لك أيضًا تقديم شكوى إلى سلطة رقابية لحماية البيانات، لا سيما في بلد إقامتك أو عملك أو حيث وقعت
            المخالفة المزعومة (المادة 77).

            """
        return ar
    }

    private func withheldLines(arabic: Bool) -> String {
        var out = ""
        for table in map.tables.keys.sorted() {
            let entry = map.tables[table]!
            for (column, reason) in entry.withheld.sorted(by: { $0.key < $1.key }) {
                out += "- \(table).\(column): \(arabic ? entry.withheldArabic[column] ?? reason : reason)\n"
            }
        }
        if masked {
            out +=
                arabic
                ? "- عناوين البريد الإلكتروني وأرقام الهواتف الخاصة بأشخاص آخرين والواردة في سجلاتك مُقنَّعة (مثل us***@example.com و+12***90) حمايةً لحقوقهم (المادة 15(4)).\n"
                : "- Email addresses and phone numbers of other people that appear in your records are masked (e.g. us***@example.com, +12***90) to protect their rights (Art. 15(4)).\n"
        }
        if !summary.missingMedia.isEmpty {
            out +=
                arabic
                ? "- \(summary.missingMedia.count) ملف وسائط تشير إليه سجلاتك غير موجود في التخزين أو مرفوض لأن مساره غير آمن؛ أُبلغ مسؤول حماية البيانات.\n"
                : "- \(summary.missingMedia.count) media file(s) your records name could not be found in storage or had an unsafe path; the data protection officer has been told.\n"
        }
        if out.isEmpty { out = arabic ? "- لا شيء.\n" : "- Nothing.\n" }
        return out
    }
}
