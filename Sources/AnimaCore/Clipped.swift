extension String {
    /// The string whole up to `limit` characters, else its first `limit - 3` and "...": how
    /// refusals, audit summaries and audit fields show text a caller chose, so that none
    /// echoes a huge one. A string of at most `limit` UTF-8 bytes has at most `limit`
    /// characters and is returned without counting (the audit writes every summary through
    /// here); otherwise counting stops at `limit + 1` characters.
    package func clipped(_ limit: Int) -> String {
        guard utf8.count > limit, prefix(limit + 1).count > limit else { return self }
        return String(prefix(Swift.max(0, limit - 3))) + "..."
    }
}
