import AnimaProcessor

/// Requests from other threads to the decode thread.
enum Command: Sendable {
    case cancel(UInt64, CheckedContinuation<Void, Never>?)
    case suspend(UInt64, CheckedContinuation<SuspendedState, any Error>)
    case resume(UInt64, CheckedContinuation<Int, any Error>)
    case setPriority(UInt64, Int)
    case apply(EngineSettings)

    func reject(_ error: any Error) {
        switch self {
        case .cancel(_, let done): done?.resume()
        case .suspend(_, let reply): reply.resume(throwing: error)
        case .resume(_, let reply): reply.resume(throwing: error)
        case .setPriority, .apply: break
        }
    }
}
