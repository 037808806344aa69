import AnimaCore
import AnimaSecurity

/// The I/O devices' use in the kernel's audit trail: the daemon's speech routes are no
/// syscall (no agent acts), but who used them, when and on how much is the operator's to see.
extension Kernel {
    /// Records one use of a device route (`audio.transcription`, `audio.speech`) for `user`:
    /// `facts` holds only sizes, durations and formats; each of `content` (a transcript, the
    /// text spoken) is kept as a keyed digest with its size, never the words themselves.
    /// - Parameter refused: why the request was refused (an error code, never its content).
    public func recordDeviceUse(
        _ action: String, user: String, facts: String, content: KeyValuePairs<String, String> = [:], refused: String? = nil
    ) {
        var summary = facts
        for (label, text) in content { summary += ", \(label) \(audit.digest.digest(text))" }
        audit.note(pid: .kernel, owner: user, action, summary, refused.map { .denied($0) } ?? .completed)
    }
}
