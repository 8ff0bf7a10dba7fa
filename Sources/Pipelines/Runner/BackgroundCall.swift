import Foundation
import Threads

/// Runs one throwing call on its own thread while the caller does something else, and hands
/// back its result (or error) in `wait()`. For work that holds its own connection, such as an
/// export's table queries beside its media copy, so two cores share one job.
///
/// The call owns whatever it captures until `wait()` returns; the caller must not touch those
/// objects (a `Connection` above all) in between, and must always `wait()`, also on its own
/// error paths, before it uses or closes them.
public final class BackgroundCall<Value>: Sendable {
    private let result = Monitor<Handoff<Result<Value, any Error>>?>(nil)

    public init(name: String, _ body: @escaping () throws -> Value) {
        // The call moves to the new thread; the caller keeps off what it captures (above).
        let call = Handoff(body)
        let thread = Thread { [result] in
            let outcome = Result { try call.value() }
            result.withLock { $0 = Handoff(outcome) }
        }
        thread.name = name
        thread.start()
    }

    /// Blocks until the call has returned; rethrows its error.
    public func wait() throws -> Value {
        try result.wait(until: { $0 != nil }, then: { $0! }).value.get()
    }
}
