import Foundation
import Synchronization

package enum Terminal {
    package static func isInteractive(fd: Int32) -> Bool { isatty(fd) == 1 }

    package static func write(_ s: String) {
        FileHandle.standardOutput.write(Data(s.utf8))
    }

    package static func error(_ s: String) {
        FileHandle.standardError.write(Data(s.utf8))
    }
}

/// A one-line progress indicator on standard error while a model loads.
package final class LoadProgress: Sendable {
    private let name: String
    private let shown = Mutex(-1)

    package init(name: String) {
        self.name = name
        Terminal.error("Loading \(name)…")
    }

    package func update(_ fraction: Double) {
        let percent = Int(fraction * 100)
        let changed = shown.withLock { last in
            defer { last = max(last, percent) }
            return percent > last
        }
        if changed { Terminal.error("\r\u{1B}[2KLoading \(name)… \(percent)%") }
    }

    package func done() { Terminal.error("\r\u{1B}[2K") }
}

/// An error for the user: printed as "Error: <message>", exit status 1, no usage text.
package struct CLIError: Error, CustomStringConvertible {
    package let description: String
    package init(_ message: String) { description = message }
}
