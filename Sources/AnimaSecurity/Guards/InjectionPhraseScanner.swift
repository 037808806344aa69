extension PatternScanner {
    /// Known prompt-injection phrasing: attempts to override instructions, change role,
    /// reveal the system prompt, or pose as the system. It finds the common wording, not
    /// every paraphrase; provenance checks are what stop an injection's side effects.
    public static let injectionPhrases = try! PatternScanner(
        name: "injection-phrases", category: .injection, caseInsensitive: true,
        patterns: [
            (
                "override instructions",
                #"\b(?:ignore|disregard|forget|skip|override)\s+(?:all\s+|any\s+|the\s+|your\s+|my\s+)*(?:previous|prior|above|earlier|preceding|original|system)?\s*(?:instructions?|directions?|prompts?|rules|guidelines)\b"#
            ),
            ("new instructions", #"\b(?:new|updated|real|actual)\s+instructions?\s*:"#),
            (
                "role change",
                #"\byou\s+are\s+now\s+(?:a|an|the|in|DAN)\b|\bact\s+as\s+(?:an?\s+)?(?:unrestricted|jailbroken|evil)|\bdeveloper\s+mode\b|\bdo\s+anything\s+now\b"#
            ),
            (
                "system prompt extraction",
                #"\b(?:reveal|print|show|repeat|output)\s+(?:me\s+)?(?:your|the)\s+(?:system\s+prompt|instructions|initial\s+prompt)\b"#
            ),
            ("fake system turn", #"(?m)^\s*(?:#+\s*)?(?:system|assistant)\s*:\s"#),
            ("urgent imperative", #"\b(?:important|attention|urgent)\s*[:!]+\s*(?:ai|assistant|agent|model)\b"#),
            ("tool directive", #"\b(?:call|use|invoke|run)\s+(?:the\s+)?(?:tool|function)\s+[`'"]?\w+"#),
        ])
}
