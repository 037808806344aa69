import AnimaCore
import AnimaKernel
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Asks the person at the controlling terminal (`/dev/tty`) whether a tool call may run.
///
/// The terminal, not standard input or output: those may be a pipe or a file (`--json`,
/// a task list on stdin) while a person still sits at the terminal. Questions are asked
/// one at a time, each on a thread of its own, since reading a person's answer blocks.
package final class TerminalApprover: @unchecked Sendable {
    private let fd: Int32
    private let turn = NSLock()

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }

    /// The approver for this process's terminal; nil when it has none (a daemon, a pipe,
    /// a test runner), so the kernel's questions go to no one and are denied.
    package static func forControllingTerminal() -> TerminalApprover? {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)
        return fd >= 0 ? TerminalApprover(fd: fd) : nil
    }

    /// Shows `request.question` and reads a yes (`y`, `yes`) or anything else as a no;
    /// nil when the terminal closed before an answer.
    package func ask(_ request: ApprovalRequest) async -> Bool? {
        await ask(question: request.question)
    }

    package func ask(question: String) async -> Bool? {
        await withCheckedContinuation { continuation in
            let thread = Thread { [self] in
                continuation.resume(returning: self.askNow(question))
            }
            thread.start()
        }
    }

    private func askNow(_ question: String) -> Bool? {
        turn.lock()
        defer { turn.unlock() }
        let text = "\n" + question + "\nAllow this call? [y/N] "
        _ = text.withCString { write(fd, $0, strlen($0)) }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while true {
            let n = read(fd, &byte, 1)
            if n < 0, errno == EINTR { continue }
            if n <= 0 { return nil }
            if byte == UInt8(ascii: "\n") { break }
            if line.count < 64 { line.append(byte) }
        }
        let answer = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        let yes = answer == "y" || answer == "yes"
        let echo = yes ? "allowed\n" : "denied\n"
        _ = echo.withCString { write(fd, $0, strlen($0)) }
        return yes
    }

    /// This terminal as the approver of every process of `kernel` without one of its own.
    package func answerFor(_ kernel: Kernel) async {
        await kernel.approvals.setConsole({ [self] in await self.ask($0) }, name: "the terminal")
    }
}
