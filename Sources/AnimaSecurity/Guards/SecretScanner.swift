extension PatternScanner {
    /// API keys, tokens and private keys of common services, and `password=...`-style
    /// assignments.
    public static let secrets = try! PatternScanner(
        name: "secrets", category: .secret,
        patterns: [
            ("AWS access key", #"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"#),
            ("Anthropic API key", #"\bsk-ant-[A-Za-z0-9_\-]{20,}"#),
            ("OpenAI API key", #"\bsk-(?:proj-)?[A-Za-z0-9_\-]{20,}"#),
            ("GitHub token", #"\bgh[pousr]_[A-Za-z0-9]{36,}\b"#),
            ("Slack token", #"\bxox[abprs]-[A-Za-z0-9\-]{10,}"#),
            ("Google API key", #"\bAIza[0-9A-Za-z_\-]{35}\b"#),
            ("private key", #"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"#),
            ("JSON web token", #"\beyJ[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}\.[A-Za-z0-9_\-]{10,}"#),
            ("credential assignment", #"(?i)\b(?:api[_\-]?key|secret|passw(?:or)?d|access[_\-]?token)\s*[:=]\s*["']?[^\s"']{8,}"#),
        ])
}
