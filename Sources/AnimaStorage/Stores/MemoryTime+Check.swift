import AnimaCore
import Foundation

extension MemoryTime {
    /// Checks that `date` is a moment memory can keep; `what` names it in the error.
    public static func check(_ date: Date, what: String) throws(StorageError) {
        if let problem = problem(with: date, what: what) { throw .invalidArgument(problem) }
    }
}
