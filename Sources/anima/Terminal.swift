import Foundation
import Synchronization

enum Terminal {
    static func isInteractive(fd: Int32) -> Bool { isatty(fd) == 1 }

    static func write(_ s: String) {
        FileHandle.standardOutput.write(Data(s.utf8))
    }

    static func error(_ s: String) {
        FileHandle.standardError.write(Data(s.utf8))
    }
}

/// A one-line progress indicator on standard error while a model loads.
final class LoadProgress: Sendable {
    private let name: String
    private let shown = Mutex(-1)

    init(name: String) {
        self.name = name
        Terminal.error("Loading \(name)…")
    }

    func update(_ fraction: Double) {
        let percent = Int(fraction * 100)
        let changed = shown.withLock { last in
            defer { last = max(last, percent) }
            return percent > last
        }
        if changed { Terminal.error("\r\u{1B}[2KLoading \(name)… \(percent)%") }
    }

    func done() { Terminal.error("\r\u{1B}[2K") }
}

/// An error for the user: printed as "Error: <message>", exit status 1, no usage text.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
