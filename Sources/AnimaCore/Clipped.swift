extension String {
    /// The string whole up to `limit` characters, else its first `limit - 3` and "...": how
    /// refusals, audit summaries and audit fields show text a caller chose, so that none
    /// echoes a huge one. Counting stops at `limit + 1` characters, so a long string costs
    /// no more than a short one.
    package func clipped(_ limit: Int) -> String {
        prefix(limit + 1).count > limit ? String(prefix(Swift.max(0, limit - 3))) + "..." : self
    }
}
