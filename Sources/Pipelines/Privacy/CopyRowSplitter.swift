/// Splits one `COPY (SELECT row_to_json(x)::text, x.* …) TO STDOUT (FORMAT csv, HEADER)` stream
/// into a table's two export files: the CSV of the other columns, header included, and the JSON
/// rows, separated by `",\n"`. One statement then reads and masks each row once for both
/// formats, where two statements masked every row twice (docs/performance.md).
///
/// The stream is cut anywhere (chunks of a `COPY`), so the state carries over between `feed`s.
/// The first field is the row's JSON, CSV-quoted by PostgreSQL (quotes doubled); it never holds
/// a line break, since JSON escapes them. The rest of the record is passed through byte for
/// byte, and a record ends at a line break outside quotes: a free-text column may hold line
/// breaks, quoted.
struct CopyRowSplitter {
    private enum State {
        /// At the first byte of a record.
        case recordStart
        case quotedJSON
        /// A quote inside the quoted JSON: a doubled quote or the field's end.
        case quoteInJSON
        case unquotedJSON
        /// The CSV columns after the JSON field.
        case rest
    }

    private var state = State.recordStart
    private var inQuotes = false
    private var inHeader = true
    /// Data rows seen so far (the header not counted).
    private(set) var rows = 0

    /// Appends the CSV bytes of `chunk` to `csv` and its JSON bytes to `json`. Throws on a
    /// stream that is not such a `COPY`'s output, naming what was expected.
    mutating func feed(_ chunk: UnsafeRawBufferPointer, csv: inout [UInt8], json: inout [UInt8]) throws {
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), newline = UInt8(ascii: "\n")
        for byte in chunk {
            switch state {
            case .recordStart:
                if !inHeader {
                    if rows > 0 { json.append(contentsOf: [comma, newline]) }
                    rows += 1
                }
                if byte == quote {
                    state = .quotedJSON
                } else {
                    state = .unquotedJSON
                    unquoted(byte, json: &json)
                }
            case .unquotedJSON:
                unquoted(byte, json: &json)
            case .quotedJSON:
                if byte == quote {
                    state = .quoteInJSON
                } else if !inHeader {
                    json.append(byte)
                }
            case .quoteInJSON:
                if byte == quote {
                    if !inHeader { json.append(quote) }
                    state = .quotedJSON
                } else if byte == comma {
                    state = .rest
                    inQuotes = false
                } else if byte == newline {
                    endRecord()
                } else {
                    throw SplitError.malformed("a byte after the closing quote of the JSON field")
                }
            case .rest:
                csv.append(byte)
                if byte == quote {
                    inQuotes.toggle()
                } else if byte == newline, !inQuotes {
                    endRecord()
                }
            }
        }
    }

    /// Throws unless the stream ended at a record's end.
    func finish() throws {
        guard state == .recordStart else { throw SplitError.malformed("the stream ended inside a record") }
        guard !inHeader else { throw SplitError.malformed("no header line") }
    }

    /// A byte of a JSON field PostgreSQL left unquoted (it quotes every JSON object, whose keys
    /// hold quotes; this keeps the splitter right for any first column).
    private mutating func unquoted(_ byte: UInt8, json: inout [UInt8]) {
        switch byte {
        case UInt8(ascii: ","):
            state = .rest
            inQuotes = false
        case UInt8(ascii: "\n"):
            endRecord()
        default:
            if !inHeader { json.append(byte) }
        }
    }

    private mutating func endRecord() {
        state = .recordStart
        inHeader = false
    }

    enum SplitError: Error, CustomStringConvertible {
        case malformed(String)

        var description: String {
            switch self {
            case .malformed(let what): return "unexpected COPY output: \(what)"
            }
        }
    }
}
