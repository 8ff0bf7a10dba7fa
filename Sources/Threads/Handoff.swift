/// A value that is not `Sendable` (a closure capturing a connection, a ZIP writer) moved from
/// the thread that made it to exactly one other thread, which alone uses it from then on.
///
/// Swift cannot prove such a move safe, so each use states the rule it keeps: the sender does
/// not touch the value (or what it captures) again until the receiving thread is done with it.
public struct Handoff<Value>: @unchecked Sendable {
    // Unchecked: the sender gives the value up; see the type's rule above.
    public let value: Value

    public init(_ value: Value) { self.value = value }
}
