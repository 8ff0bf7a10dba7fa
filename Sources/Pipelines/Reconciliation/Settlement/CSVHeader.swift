/// The header record of a CSV file (RFC 4180): the only part of a settlement file parsed in
/// Swift, to learn the column layout; PostgreSQL's COPY parses everything else.
enum CSVHeader {
    /// The fields of the first record, or nil when the file has no complete first record.
    static func fields(_ bytes: [UInt8]) -> [String]? {
        var data = bytes[...]
        if data.starts(with: [0xEF, 0xBB, 0xBF]) { data = data.dropFirst(3) }
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var index = data.startIndex
        while index < data.endIndex {
            let byte = data[index]
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    let next = data.index(after: index)
                    if next < data.endIndex, data[next] == UInt8(ascii: "\"") {
                        field.append(byte)
                        index = next
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(byte)
                }
            } else if byte == UInt8(ascii: "\"") && field.isEmpty {
                quoted = true
            } else if byte == UInt8(ascii: ",") {
                fields.append(String(decoding: field, as: UTF8.self))
                field = []
            } else if byte == 0x0A || byte == 0x0D {
                fields.append(String(decoding: field, as: UTF8.self))
                return fields.allSatisfy(\.isEmpty) ? nil : fields
            } else {
                field.append(byte)
            }
            index = data.index(after: index)
        }
        if quoted { return nil }
        fields.append(String(decoding: field, as: UTF8.self))
        return fields.allSatisfy(\.isEmpty) ? nil : fields
    }
}
