extension PatternScanner {
    /// Links that carry data out when rendered or followed: markdown images (fetched by
    /// the reader's client without a click) and URLs whose query holds a long payload.
    public static let exfiltrationLinks = try! PatternScanner(name: "exfiltration-links", category: .exfiltration, caseInsensitive: true, patterns: [
        ("markdown image with a remote URL", #"!\[[^\]]*\]\(\s*<?https?://[^)\s]+\)?"#),
        ("URL with a long query payload", #"https?://[^\s/?#]+[^\s?#]*\?[^\s#]*=[^\s&#]{40,}"#),
        ("HTML image with a remote URL", #"<img\b[^>]*\bsrc\s*=\s*["']?https?://"#),
    ])
}
