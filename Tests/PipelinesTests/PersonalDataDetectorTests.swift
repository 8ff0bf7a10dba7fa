import Privacy
import Testing

@Suite("Personal-data detection")
struct PersonalDataDetectorTests {
    @Test func valuesAreRecognisedByTheirShape() {
        #expect(PersonalDataDetector.category(ofValues: ["a@b.co", "x.y@example.org"])?.category == "contact.email")
        #expect(
            PersonalDataDetector.category(ofValues: ["+966 50 123 4567", "٠٥٠١٢٣٤٥٦٧٨"])?.category == "contact.phone")
        #expect(
            PersonalDataDetector.category(ofValues: ["GB82 WEST 1234 5698 7654 32"])?.category == "payment_reference")
        // A wrong check digit is not an IBAN.
        #expect(
            PersonalDataDetector.category(ofValues: ["GB83 WEST 1234 5698 7654 32"])?.category != "payment_reference")
        #expect(
            PersonalDataDetector.category(ofValues: ["784-1990-1234567-1", "1012345678"])?.category == "identifier")
        #expect(PersonalDataDetector.category(ofValues: ["10.0.0.1"])?.category == "network")
        #expect(PersonalDataDetector.category(ofValues: ["Layla Haddad", "ليلى حداد"])?.category == "name")
        // Amounts, states, order numbers and prose are not personal by their shape.
        for values in [
            ["11500", "2999"], ["succeeded", "failed"], ["SAMIA-2026-000001"], ["called twice", "no answer"],
        ] {
            #expect(PersonalDataDetector.category(ofValues: values) == nil, "\(values)")
        }
        // Fewer than half matching is no verdict.
        #expect(PersonalDataDetector.category(ofValues: ["a@b.co", "x", "y"]) == nil)
    }

    @Test func namesSuggestACategory() {
        #expect(PersonalDataDetector.category(ofName: "billing_email") == "contact.email")
        #expect(PersonalDataDetector.category(ofName: "passport_no") == "identifier")
        #expect(PersonalDataDetector.category(ofName: "first_name") == "name")
        #expect(PersonalDataDetector.category(ofName: "ip") == "network")
        #expect(PersonalDataDetector.category(ofName: "shipping") == nil)
        #expect(PersonalDataDetector.category(ofName: "status") == nil)
    }
}
