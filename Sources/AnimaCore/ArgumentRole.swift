/// The part one argument of a side-effecting tool plays, which the policy engine reads
/// beside its provenance (given per tool in mcp.json: `"arguments": {"to": "recipient"}`).
///
/// A role that names who or what is acted on (`recipient`, `amount`, `target`, `path`,
/// `url`) is a value an injected instruction must never choose: it must come from the
/// user's words as a whole token, or be a whole field of a source the user pointed to,
/// whatever else the policy lets the argument carry. `content` is free text a person
/// would write from what they read (an email body, a message): it may carry untrusted
/// text, which reaches the tool with that text marked as such.
public enum ArgumentRole: String, Sendable, Hashable, Codable, CaseIterable {
    /// Who receives: an email address, an account, a channel.
    case recipient
    /// How much: money, a quantity.
    case amount
    /// What is acted on: a file, an event, a record by its id.
    case target
    case path
    case url
    /// Free text: a body, a message, a note.
    case content

    /// Whether the role picks who or what the call acts on (everything but `content`).
    public var isSelector: Bool { self != .content }
}
