import Foundation

/// The texts the subject must be sent, in English and Arabic (the service's two languages),
/// generated from the request so that what staff send says what the register holds.
public enum DSRNotice {
    /// Art. 12(3): an extension must be told to the subject within the first month, with the
    /// reasons. The reason is given as staff wrote it; dates are ISO 8601 days (UTC) so that
    /// both texts carry the same figures.
    public static func extensionNotice(_ request: DSRRequest, months: Int) -> (english: String, arabic: String) {
        let day = { (date: Date) in String(ISO8601DateFormatter().string(from: date).prefix(10)) }
        let received = day(request.receivedAt)
        let deadline = day(request.deadline)
        let kind = kindName(request.kind)
        let reason = request.extensionReason ?? ""
        let english = """
            We received your \(kind.en) (reference #\(request.id)) on \(received). The law gives us one month to \
            answer, and allows up to two more months where a request is complex or we have many. We are extending \
            the time we need by \(months) month(s), to \(deadline), because: \(reason). We will answer as soon as we \
            can and by that date at the latest. You may complain to a supervisory authority or seek a judicial \
            remedy (Article 12(4) GDPR).
            """
        let arabic = """
            تلقّينا \(kind.ar) (المرجع #\(request.id)) بتاريخ \(received). يمنحنا القانون شهرًا واحدًا للرد، ويجيز \
            تمديده شهرين آخرين إذا كان الطلب معقّدًا أو كثرت الطلبات. نمدّد المدة التي نحتاجها \(months) شهر/أشهر، \
            حتى \(deadline)، للسبب التالي: \(reason). سنرد في أقرب وقت ممكن، وفي موعد أقصاه ذلك التاريخ. يحق لك تقديم \
            شكوى إلى سلطة رقابية أو اللجوء إلى القضاء (المادة 12(4) من اللائحة العامة لحماية البيانات).
            """
        return (english, arabic)
    }

    static func kindName(_ kind: DSRRequest.Kind) -> (en: String, ar: String) {
        switch kind {
        case .export: return ("request for a copy of your personal data", "طلبك الحصول على نسخة من بياناتك الشخصية")
        case .erase: return ("request to erase your personal data", "طلبك محو بياناتك الشخصية")
        case .rectify: return ("request to correct your personal data", "طلبك تصحيح بياناتك الشخصية")
        case .restrict:
            return ("request to restrict the processing of your personal data", "طلبك تقييد معالجة بياناتك الشخصية")
        case .object: return ("objection to the processing of your personal data", "اعتراضك على معالجة بياناتك الشخصية")
        }
    }
}
