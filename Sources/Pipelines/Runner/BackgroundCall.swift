import Foundation

/// Runs one throwing call on its own thread while the caller does something else, and hands
/// back its result (or error) in `wait()`. For work that holds its own connection, such as an
/// export's table queries beside its media copy, so two cores share one job.
///
/// The call owns whatever it captures until `wait()` returns; the caller must not touch those
/// objects (a `Connection` above all) in between, and must always `wait()`, also on its own
/// error paths, before it uses or closes them.
public final class BackgroundCall<Value>: @unchecked Sendable {
    private let condition = NSCondition()
    private var result: Result<Value, any Error>?
    private let body: () throws -> Value

    public init(name: String, _ body: @escaping () throws -> Value) {
        self.body = body
        let thread = Thread { [self] in
            let outcome = Result { try self.body() }
            condition.withLock {
                result = outcome
                condition.broadcast()
            }
        }
        thread.name = name
        thread.start()
    }

    /// Blocks until the call has returned; rethrows its error.
    public func wait() throws -> Value {
        try condition.withLock {
            while result == nil { condition.wait() }
            return try result!.get()
        }
    }
}
