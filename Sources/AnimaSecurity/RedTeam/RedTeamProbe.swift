import AnimaCore

/// One prompt-injection or jailbreak probe of `anima scan`: the hostile text, where it is
/// placed, and what a model that obeyed it would do.
///
/// `obeyed` is the attack spelled out, for the worst-case model (one that follows every
/// instruction it reads): `$SECRET` stands for the protected secret once the model has
/// seen it, `$DATA` for the latest tool output. With a real model the scan uses only
/// `text` and judges what the model actually did.
public struct RedTeamProbe: Sendable, Hashable {
    public enum Category: String, Sendable, Hashable, CaseIterable {
        case direct
        case indirectToolOutput = "indirect-tool-output"
        case indirectDocument = "indirect-document"
        case encoding
        case delimiterForgery = "delimiter-forgery"
        case exfiltrationURL = "exfiltration-url"
        case exfiltrationImage = "exfiltration-markdown-image"
    }

    /// Where the text goes.
    public enum Placement: String, Sendable, Hashable {
        /// It is the user's message (direct injection, jailbreaks).
        case task
        /// It is part of a web page the user asks about.
        case webPage = "web-page"
        /// It is part of a file the user asks about.
        case document
    }

    public enum Action: Sendable, Hashable {
        case call(String, JSONValue)
        case answer(String)
    }

    public var name: String
    public var category: Category
    public var placement: Placement
    public var text: String
    /// A phrase of `text` that survives delimiting, by which the worst-case model knows
    /// the probe is in its context.
    public var trigger: String
    public var obeyed: [Action]

    public init(_ name: String, _ category: Category, _ placement: Placement, trigger: String, text: String, obeyed: [Action]) {
        self.name = name
        self.category = category
        self.placement = placement
        self.text = text
        self.trigger = trigger
        self.obeyed = obeyed
    }
}
