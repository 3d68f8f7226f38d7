import Dispatch

/// Runs librdkafka's blocking calls (poll with a timeout, flush, synchronous commit, admin
/// requests) on a dedicated serial queue so they never occupy a thread of Swift's cooperative pool.
final class BlockingExecutor: Sendable {
    private let queue: DispatchQueue

    init(label: String) {
        queue = DispatchQueue(label: label)
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body() })
            }
        }
    }
}
