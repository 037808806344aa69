extension PatternScanner {
    /// Shell and code that destroys data, runs downloaded code, opens a reverse shell or
    /// touches system credentials.
    public static let dangerousCode = try! PatternScanner(
        name: "dangerous-code", category: .dangerousCode,
        patterns: [
            (
                "recursive delete of a root",
                #"\brm\s+(?:-[a-zA-Z]*\s+)*-[a-zA-Z]*(?:rf|fr)[a-zA-Z]*\s+(?:--no-preserve-root\s+)?(?:/|~|\*|\$HOME)(?:\s|$|\*)"#
            ),
            ("download piped to a shell", #"\b(?:curl|wget)\b[^\n|]*\|\s*(?:sudo\s+)?(?:ba|z|da)?sh\b"#),
            ("decoded payload piped to a shell", #"\bbase64\s+(?:-d|--decode)\b[^\n|]*\|\s*(?:ba|z)?sh\b"#),
            ("filesystem format", #"\bmkfs(?:\.\w+)?\s"#),
            ("raw disk write", #"\bdd\s+[^\n]*\bof=/dev/(?:sd|nvme|hd|vd|mmcblk)"#),
            ("fork bomb", #":\(\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;\s*:"#),
            ("world-writable system path", #"\bchmod\s+(?:-R\s+)?0?777\s+/"#),
            ("reverse shell", #"\b(?:nc|ncat|netcat)\b[^\n]*\s-[a-z]*e\s|/dev/tcp/\d|\bsocat\b[^\n]*exec:"#),
            ("credential file", #"/etc/(?:shadow|sudoers)\b|~?/\.ssh/(?:id_\w+|authorized_keys)\b"#),
            ("shell from code", #"\bos\.system\s*\(|\bsubprocess\.\w+\([^)]*shell\s*=\s*True|\beval\s*\(\s*(?:input|request)"#),
        ])
}
